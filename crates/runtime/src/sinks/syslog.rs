//! Syslog: RFC 5424 messages whose MSG is the alert as JSON, over UDP or
//! TCP (octet-counted framing, RFC 6587), for SIEMs that only take syslog.

use super::{Record, Sink, SinkError};
use std::io::Write;
use std::net::{TcpStream, UdpSocket};

enum Conn {
    Udp(UdpSocket),
    Tcp(Option<TcpStream>),
}

pub struct SyslogSink {
    name: String,
    address: String,
    conn: Conn,
    host: String,
}

impl SyslogSink {
    pub fn new(name: &str, address: &str, protocol: &str) -> anyhow::Result<SyslogSink> {
        let conn = match protocol {
            "udp" => {
                let s = UdpSocket::bind("0.0.0.0:0")?;
                s.connect(address).map_err(|e| anyhow::anyhow!("syslog sink {address}: {e}"))?;
                Conn::Udp(s)
            }
            "tcp" => Conn::Tcp(None),
            other => anyhow::bail!("syslog sink: protocol `{other}` (use udp or tcp)"),
        };
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "vigie".into());
        Ok(SyslogSink { name: name.into(), address: address.into(), conn, host })
    }

    fn err(&self, e: impl std::fmt::Display) -> SinkError {
        SinkError { sink: self.name.clone(), message: format!("{}: {e}", self.address) }
    }
}

/// One RFC 5424 line: facility security/authorization (4, as `auth`).
pub fn format(rec: &Record<'_>, host: &str) -> Vec<u8> {
    let pri = 4 * 8 + rec.level().syslog() as u32;
    let mut line = format!("<{pri}>1 {} {host} vigie - {} - ", rec.timestamp(), rec.stream()).into_bytes();
    line.extend_from_slice(rec.json());
    line
}

impl Sink for SyslogSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let msg = format(rec, &self.host);
        match &mut self.conn {
            Conn::Udp(s) => s.send(&msg).map(|_| ()).map_err(|e| self.err(e)),
            Conn::Tcp(slot) => {
                if slot.is_none() {
                    *slot = Some(TcpStream::connect(&self.address).map_err(|e| SinkError {
                        sink: self.name.clone(),
                        message: format!("{}: {e}", self.address),
                    })?);
                }
                let Some(s) = slot.as_mut() else { return Ok(()) };
                let framed = [format!("{} ", msg.len()).into_bytes(), msg].concat();
                if let Err(e) = s.write_all(&framed) {
                    // Reconnect on the next alert.
                    *slot = None;
                    return Err(SinkError { sink: self.name.clone(), message: format!("{}: {e}", self.address) });
                }
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        if let Conn::Tcp(Some(s)) = &mut self.conn {
            s.flush().map_err(|e| SinkError { sink: self.name.clone(), message: e.to_string() })?;
        }
        Ok(())
    }
}
