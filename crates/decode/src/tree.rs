//! Building event trees by dotted ECS path.

use sonic_rs::{JsonContainerTrait, JsonValueMutTrait, JsonValueTrait, Object, Value};

/// A JSON object under construction.
#[derive(Default)]
pub struct Event {
    root: Object,
}

impl Event {
    pub fn new() -> Event {
        Event { root: Object::new() }
    }

    /// Set `path` (dotted: `http.request.method`) to `v`, creating the
    /// objects on the way.
    pub fn set(&mut self, path: &str, v: impl Into<Value>) {
        set(&mut self.root, path, v.into());
    }

    /// Set a string, unless it is empty or the log's "no value" dash.
    pub fn text(&mut self, path: &str, v: &str) {
        if !v.is_empty() && v != "-" {
            self.set(path, v);
        }
    }

    /// Copy every top-level member of a JSON object payload into the event
    /// (the payload wins on conflicts: it is the application's own record).
    pub fn merge(&mut self, payload: Value) {
        if let Some(obj) = payload.as_object() {
            for (k, v) in obj.iter() {
                self.root.insert(k, v.clone());
            }
        }
    }

    pub fn finish(self) -> Value {
        self.root.into()
    }
}

fn set(obj: &mut Object, path: &str, v: Value) {
    match path.split_once('.') {
        None => {
            obj.insert(path, v);
        }
        Some((head, rest)) => {
            if !obj.get(&head).is_some_and(|x| x.is_object()) {
                obj.insert(head, Object::new());
            }
            if let Some(child) = obj.get_mut(&head).and_then(|c| c.as_object_mut()) {
                set(child, rest, v);
            }
        }
    }
}

/// RFC 3339 text for a jiff timestamp, as `@timestamp` carries it.
pub fn stamp(t: jiff::Timestamp) -> String {
    format!("{t:.3}")
}
