//! The request side of the fake pprof targets in the hunt and watch tests.

use std::io::{BufRead, BufReader};
use std::net::TcpStream;

/// Reads one HTTP request from `conn` (blocking) and returns its path;
/// `None` when the client went away before the request line.
pub fn request_path(conn: &TcpStream) -> Option<String> {
    conn.set_nonblocking(false).unwrap();
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    Some(line.split_whitespace().nth(1).unwrap_or("").to_string())
}
