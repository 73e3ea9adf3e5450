//! A minimal HTTP/1.1 client over one keep-alive TCP connection: enough to drive this app's
//! pages and API from a load test without pulling an HTTP client crate into the build.

use std::io;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Larger bodies are refused: no page or API answer of this app comes near it.
const MAX_BODY: usize = 64 * 1024 * 1024;
const MAX_HEADER_LINE: usize = 16 * 1024;

/// Where to connect and what to send as `Host`, from `http://host:port`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub addr: String,
    pub host: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("--url 应以 http:// 开头：{url}"))?;
        let host = rest.split('/').next().unwrap_or_default();
        if host.is_empty() {
            return Err(format!("--url 缺少主机：{url}"));
        }
        let addr = if host.contains(':') {
            host.to_string()
        } else {
            format!("{host}:80")
        };
        Ok(Target {
            addr,
            host: host.to_string(),
        })
    }
}

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `name=value` of every `Set-Cookie`, attributes dropped.
    pub fn cookies(&self) -> impl Iterator<Item = (&str, &str)> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case("set-cookie"))
            .filter_map(|(_, v)| v.split(';').next()?.split_once('='))
    }
}

/// One connection, reopened when the server closes it.
pub struct Client {
    target: Target,
    conn: Option<BufReader<TcpStream>>,
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

impl Client {
    pub fn new(target: Target) -> Client {
        Client { target, conn: None }
    }

    /// Sends one request and reads the whole answer. `headers` are extra header lines.
    pub async fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> io::Result<Response> {
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let stream = TcpStream::connect(&self.target.addr).await?;
                stream.set_nodelay(true)?;
                self.conn.insert(BufReader::new(stream))
            }
        };
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n",
            self.target.host,
            body.len()
        );
        for (k, v) in headers {
            req.push_str(k);
            req.push_str(": ");
            req.push_str(v);
            req.push_str("\r\n");
        }
        req.push_str("\r\n");
        let mut bytes = req.into_bytes();
        bytes.extend_from_slice(body);
        let outcome = async {
            conn.get_mut().write_all(&bytes).await?;
            read_response(conn).await
        }
        .await;
        match outcome {
            Ok(resp) => {
                if resp
                    .header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                {
                    self.conn = None;
                }
                Ok(resp)
            }
            Err(e) => {
                self.conn = None;
                Err(e)
            }
        }
    }
}

async fn read_line(r: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = Vec::new();
    let n = (&mut *r)
        .take(MAX_HEADER_LINE as u64)
        .read_until(b'\n', &mut line)
        .await?;
    if n == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "连接已被服务器关闭",
        ));
    }
    if line.last() != Some(&b'\n') {
        return Err(bad("响应头过长"));
    }
    let text = String::from_utf8(line).map_err(|_| bad("响应头不是 UTF-8"))?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

async fn read_response(r: &mut BufReader<TcpStream>) -> io::Result<Response> {
    let status_line = read_line(r).await?;
    let status =
        parse_status(&status_line).ok_or_else(|| bad(format!("状态行有误：{status_line}")))?;
    let mut headers = Vec::new();
    loop {
        let line = read_line(r).await?;
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    let find = |name: &str| {
        headers
            .iter()
            .find(|(k, _): &&(String, String)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let body = if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(r).await?
    } else if let Some(len) = find("content-length") {
        let len: usize = len.parse().map_err(|_| bad("Content-Length 有误"))?;
        if len > MAX_BODY {
            return Err(bad("响应体过大"));
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body).await?;
        body
    } else if status == 204 || status == 304 || (100..200).contains(&status) {
        Vec::new()
    } else {
        // No length: the body runs to the end of the connection.
        let mut body = Vec::new();
        (&mut *r)
            .take(MAX_BODY as u64)
            .read_to_end(&mut body)
            .await?;
        headers.push(("connection".into(), "close".into()));
        body
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

fn parse_status(line: &str) -> Option<u16> {
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/1.") {
        return None;
    }
    parts.next()?.parse().ok()
}

async fn read_chunked(r: &mut BufReader<TcpStream>) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let line = read_line(r).await?;
        let size = line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| bad("分块长度有误"))?;
        if size == 0 {
            // Trailers, then the empty line.
            while !read_line(r).await?.is_empty() {}
            return Ok(body);
        }
        if body.len().saturating_add(size) > MAX_BODY {
            return Err(bad("响应体过大"));
        }
        let start = body.len();
        body.resize(start + size, 0);
        r.read_exact(&mut body[start..]).await?;
        if !read_line(r).await?.is_empty() {
            return Err(bad("分块结尾有误"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        assert_eq!(
            Target::parse("http://127.0.0.1:8080/").unwrap(),
            Target {
                addr: "127.0.0.1:8080".into(),
                host: "127.0.0.1:8080".into()
            }
        );
        assert_eq!(
            Target::parse("http://example.cn").unwrap().addr,
            "example.cn:80"
        );
        assert!(Target::parse("https://example.cn").is_err());
        assert!(Target::parse("http://").is_err());
        assert_eq!(parse_status("HTTP/1.1 303 See Other"), Some(303));
        assert_eq!(parse_status("SSH-2.0"), None);
    }
}
