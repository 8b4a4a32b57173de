//! The file input across rotation by rename and by truncation, and its
//! resume position; and the syslog sink on a real socket.

use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};
use vigie_runtime::engine::{Item, Msg, channel};
use vigie_runtime::metrics::Metrics;
use vigie_runtime::sources::tail::{self, Position};

/// Collect lines from the feed until `n` have arrived; also the last position.
fn collect(
    rx: &crossbeam_channel::Receiver<(u64, Msg)>,
    n: usize,
    lines: &mut Vec<String>,
    pos: &mut Option<Position>,
) {
    let t = Instant::now();
    while lines.len() < n {
        assert!(t.elapsed() < Duration::from_secs(20), "got only {lines:?}");
        let Ok((_, Msg::Batch(b))) = rx.recv_timeout(Duration::from_millis(100)) else { continue };
        for it in b.items {
            if let Item::Line { bytes, .. } = it {
                lines.push(String::from_utf8(bytes).unwrap());
            }
        }
        if let Some(p) = b.position {
            *pos = Some(serde_json::from_value(p).unwrap());
        }
    }
}

fn append(path: &std::path::Path, text: &str) {
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

#[test]
fn follows_rotation_by_rename_and_by_truncation_and_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "a1\na2\npartial");
    let (feed, rx) = channel(64, Arc::new(Metrics::default()));
    let h = tail::spawn(0, path.clone(), None, feed.clone());
    let (mut lines, mut pos) = (Vec::new(), None);
    collect(&rx, 2, &mut lines, &mut pos);
    // A line is sent only once it is complete.
    append(&path, " line\n");
    collect(&rx, 3, &mut lines, &mut pos);
    assert_eq!(lines, ["a1", "a2", "partial line"]);
    // logrotate's rename: the old file gets a last line, a new file appears.
    append(&path, "a3\n");
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, "b1\n");
    collect(&rx, 5, &mut lines, &mut pos);
    assert_eq!(&lines[3..], ["a3", "b1"], "the old file is finished before the new one");
    // copytruncate: the file shrinks and starts again.
    std::thread::sleep(Duration::from_millis(200));
    std::fs::write(&path, "").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    append(&path, "c1\n");
    collect(&rx, 6, &mut lines, &mut pos);
    assert_eq!(lines[5], "c1");
    feed.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    h.join().unwrap();

    // A restart at the last position reads only what came after it.
    append(&path, "c2\n");
    let (feed, rx) = channel(64, Arc::new(Metrics::default()));
    let h = tail::spawn(0, path.clone(), pos, feed.clone());
    let (mut again, mut pos2) = (Vec::new(), None);
    collect(&rx, 1, &mut again, &mut pos2);
    assert_eq!(again, ["c2"]);
    feed.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    h.join().unwrap();
}

#[test]
fn syslog_sink_sends_rfc5424_with_the_alert_as_json() {
    use vigie_alert::*;
    use vigie_runtime::sinks::{Sink, SyslogSink};
    let listener = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    listener.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let mut sink = SyslogSink::new("syslog#0", &addr, "udp").unwrap();
    let alert = Alert {
        timestamp: rfc3339(0),
        alert: AlertHeader {
            id: alert_id(&["x"]),
            kind: AlertKind::Sigma,
            status: Status::New,
            count: 1,
            first_seen: rfc3339(0),
            last_seen: rfc3339(0),
        },
        rule: RuleRef {
            id: "r".into(),
            name: "R".into(),
            level: vigie_alert::Severity::High,
            author: "a".into(),
            tags: vec![],
        },
        user: None,
        source: None,
        reason: "why".into(),
        evidence: Default::default(),
        events: vec![],
        event: None,
    };
    sink.write(&vigie_runtime::sinks::Record::alert(&alert)).unwrap();
    sink.flush().unwrap();
    let mut buf = [0u8; 4096];
    let n = listener.recv(&mut buf).unwrap();
    let text = std::str::from_utf8(&buf[..n]).unwrap();
    // auth facility (4) * 8 + severity error (3) for a high alert.
    assert!(text.starts_with("<35>1 1970-01-01T00:00:00.000Z "), "{text}");
    let payload = &text[text.find('{').unwrap()..];
    let back: Alert = serde_json::from_str(payload).unwrap();
    assert_eq!(back, alert);
}

fn numbered(prefix: &str, n: usize) -> String {
    (0..n).map(|i| format!("{prefix}{i}\n")).collect()
}

fn stop(feed: &vigie_runtime::engine::Feed, h: std::thread::JoinHandle<()>) {
    feed.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    h.join().unwrap();
}

/// Nothing more than `lines` arrives (the input has caught up).
fn nothing_more(rx: &crossbeam_channel::Receiver<(u64, Msg)>) {
    let t = Instant::now();
    while t.elapsed() < Duration::from_millis(1500) {
        if let Ok((_, Msg::Batch(b))) = rx.recv_timeout(Duration::from_millis(100)) {
            assert!(b.items.is_empty(), "a line read twice");
        }
    }
}

/// Issue 16: a file rotated while vigie was down lost the lines written to
/// it after the checkpoint; truncated and rewritten while down, it lost the
/// new lines up to the old offset.
#[test]
fn rotation_and_truncation_while_stopped_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, &numbered("a", 100));
    let (feed, rx) = channel(64, Arc::new(Metrics::default()));
    let h = tail::spawn(0, path.clone(), None, feed.clone());
    let (mut lines, mut pos) = (Vec::new(), None);
    collect(&rx, 100, &mut lines, &mut pos);
    stop(&feed, h);
    // While stopped: 50 more lines, then logrotate renames and creates.
    append(&path, &numbered("b", 50));
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, &numbered("c", 30));
    let (feed, rx) = channel(64, Arc::new(Metrics::default()));
    let h = tail::spawn(0, path.clone(), pos, feed.clone());
    let mut lines = Vec::new();
    collect(&rx, 80, &mut lines, &mut pos);
    let want: Vec<String> = (numbered("b", 50) + &numbered("c", 30)).lines().map(String::from).collect();
    assert_eq!(lines, want, "the rotated file is drained from its checkpoint first");
    nothing_more(&rx);
    stop(&feed, h);
    // While stopped: truncated and rewritten beyond the old offset.
    std::fs::write(&path, numbered("d", 200)).unwrap();
    let metrics = Arc::new(Metrics::default());
    let (feed, rx) = channel(64, metrics.clone());
    let h = tail::spawn(0, path.clone(), pos, feed.clone());
    let mut lines = Vec::new();
    collect(&rx, 200, &mut lines, &mut pos);
    assert_eq!(lines[0], "d0");
    assert_eq!(lines.len(), 200);
    nothing_more(&rx);
    assert!(metrics.render().contains("vigie_truncations_total{input=\"file#0\"} 1"), "{}", metrics.render());
    stop(&feed, h);
}

/// Issue 16: with logrotate `create`, the lines a writer still appended to
/// the renamed file before reopening were lost.
#[test]
fn logrotate_create_drains_the_old_file_before_switching() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    let mut writer = std::fs::OpenOptions::new().create(true).append(true).open(&path).unwrap();
    writer.write_all(numbered("a", 50).as_bytes()).unwrap();
    let (feed, rx) = channel(64, Arc::new(Metrics::default()));
    let h = tail::spawn(0, path.clone(), None, feed.clone());
    let (mut lines, mut pos) = (Vec::new(), None);
    collect(&rx, 50, &mut lines, &mut pos);
    std::fs::rename(&path, dir.path().join("app.log.1")).unwrap();
    append(&path, &numbered("c", 20));
    // The writer has not reopened yet: it goes on in the renamed file.
    std::thread::sleep(Duration::from_millis(300));
    writer.write_all(numbered("b", 30).as_bytes()).unwrap();
    collect(&rx, 100, &mut lines, &mut pos);
    let want: Vec<String> =
        (numbered("a", 50) + &numbered("b", 30) + &numbered("c", 20)).lines().map(String::from).collect();
    assert_eq!(lines, want, "the old file to its end, then the new one");
    nothing_more(&rx);
    stop(&feed, h);
}

/// Issue 16: a 300 MB line without a newline held 1.05 GB. A line over
/// `max_line` is skipped as it is read, counted, and the next line is read.
#[test]
fn a_line_over_the_limit_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("app.log");
    append(&path, "ok1\n");
    let metrics = Arc::new(Metrics::default());
    let (mut feed, rx) = channel(64, metrics.clone());
    feed.max_line = 1000;
    let h = tail::spawn(0, path.clone(), None, feed.clone());
    let (mut lines, mut pos) = (Vec::new(), None);
    collect(&rx, 1, &mut lines, &mut pos);
    // 5,000 bytes without a newline, in two writes, then the newline.
    append(&path, &"x".repeat(3000));
    std::thread::sleep(Duration::from_millis(200));
    append(&path, &"x".repeat(2000));
    std::thread::sleep(Duration::from_millis(200));
    append(&path, &format!("\nok2\n{}\nok3\n", "y".repeat(1500)));
    collect(&rx, 3, &mut lines, &mut pos);
    assert_eq!(lines, ["ok1", "ok2", "ok3"]);
    assert!(metrics.render().contains("vigie_lines_too_long_total{input=\"file#0\"} 2"), "{}", metrics.render());
    // The position is past everything read.
    assert_eq!(pos.unwrap().offset, std::fs::metadata(&path).unwrap().len());
    stop(&feed, h);
}
