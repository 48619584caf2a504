//! Remote memory host: a process serving 4 KiB pages of a file over a Unix or
//! TCP socket, and its client. The protocol (docs/host-model.md, "memhost
//! protocol"), little-endian throughout:
//!
//! - every message is a frame: `u32` body length, then the body;
//! - request body: `u8` op, then `INFO` (1): nothing; `READ` (2): `u64` page;
//!   `WRITE` (3): `u64` page and 4096 bytes; `SHUTDOWN` (4): nothing;
//! - reply body: `u8` status, 0 = ok then the payload (`INFO`: `u64` pages;
//!   `READ`: 4096 bytes; others: nothing), 1 = error then a one-line UTF-8 message.
//!
//! A malformed request gets an error reply and the connection stays usable; a
//! frame longer than [`MAX_FRAME`] gets an error reply and the connection is
//! closed (its body is not read). Timing is never taken from the socket: the
//! simulator models latency and bandwidth in simulated time.

use anyhow::{anyhow, bail, Context, Result};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::FileExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::sync::Arc;

pub const PAGE: usize = 4096;
pub const OP_INFO: u8 = 1;
pub const OP_READ: u8 = 2;
pub const OP_WRITE: u8 = 3;
pub const OP_SHUTDOWN: u8 = 4;
pub const STATUS_OK: u8 = 0;
pub const STATUS_ERR: u8 = 1;
/// Largest frame body accepted (a WRITE: op, page number, page).
pub const MAX_FRAME: u32 = 1 + 8 + PAGE as u32;

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

fn read_frame(r: &mut impl Read) -> std::io::Result<Option<Result<Vec<u8>, u32>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let n = u32::from_le_bytes(len);
    if n > MAX_FRAME {
        return Ok(Some(Err(n)));
    }
    let mut body = vec![0; n as usize];
    r.read_exact(&mut body)?;
    Ok(Some(Ok(body)))
}

fn write_frame(w: &mut impl Write, parts: &[&[u8]]) -> std::io::Result<()> {
    let n: usize = parts.iter().map(|p| p.len()).sum();
    w.write_all(&(n as u32).to_le_bytes())?;
    for p in parts {
        w.write_all(p)?;
    }
    w.flush()
}

/// Where a memory host listens: `unix:PATH` or `tcp:HOST:PORT`.
pub enum Addr {
    Unix(String),
    Tcp(String),
}

impl Addr {
    pub fn parse(s: &str) -> Result<Addr> {
        match s.split_once(':') {
            Some(("unix", p)) if !p.is_empty() => Ok(Addr::Unix(p.into())),
            Some(("tcp", a)) if a.contains(':') => Ok(Addr::Tcp(a.into())),
            _ => bail!("{s:?}: expected unix:PATH or tcp:HOST:PORT"),
        }
    }
}

/// The pages a server serves: a file of `pages` 4 KiB pages.
pub struct Store {
    file: File,
    pages: u64,
}

impl Store {
    /// Opens (creating it if missing) `path`; with `pages`, extends it to that
    /// many pages; without, serves the whole pages it holds.
    pub fn open(path: &std::path::Path, pages: Option<u64>) -> Result<Store> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("{}: cannot open", path.display()))?;
        let len = file
            .metadata()
            .with_context(|| format!("{}: cannot stat", path.display()))?
            .len();
        let pages = match pages {
            Some(0) => bail!("--pages 0: a memory host serves at least one page"),
            Some(p) => {
                let want = p
                    .checked_mul(PAGE as u64)
                    .ok_or_else(|| anyhow!("--pages {p}: too many"))?;
                if len < want {
                    file.set_len(want)
                        .with_context(|| format!("{}: cannot extend", path.display()))?;
                }
                p
            }
            None if len < PAGE as u64 => bail!(
                "{}: holds no whole 4 KiB page; give --pages to create it",
                path.display()
            ),
            None => len / PAGE as u64,
        };
        Ok(Store { file, pages })
    }

    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Answers one request body; `Err` carries the error reply's message.
    fn handle(&self, body: &[u8]) -> std::result::Result<Vec<u8>, String> {
        let page_of = |b: &[u8]| -> std::result::Result<u64, String> {
            let p = u64::from_le_bytes(b[1..9].try_into().expect("8 bytes"));
            if p >= self.pages {
                return Err(format!("page {p} out of range ({} pages)", self.pages));
            }
            Ok(p)
        };
        match (body.first(), body.len()) {
            (None, _) => Err("empty request".into()),
            (Some(&OP_INFO), 1) => Ok(self.pages.to_le_bytes().to_vec()),
            (Some(&OP_READ), 9) => {
                let p = page_of(body)?;
                let mut buf = vec![0; PAGE];
                self.file
                    .read_exact_at(&mut buf, p * PAGE as u64)
                    .map_err(|e| format!("page {p}: read failed: {e}"))?;
                Ok(buf)
            }
            (Some(&OP_WRITE), n) if n == 9 + PAGE => {
                let p = page_of(body)?;
                self.file
                    .write_all_at(&body[9..], p * PAGE as u64)
                    .map_err(|e| format!("page {p}: write failed: {e}"))?;
                Ok(Vec::new())
            }
            (Some(&op @ (OP_INFO | OP_READ | OP_WRITE | OP_SHUTDOWN)), n) => {
                Err(format!("op {op}: bad request length {n}"))
            }
            (Some(&op), _) => Err(format!("unknown op {op}")),
        }
    }
}

/// Serves one connection until it closes; true when it asked for a shutdown.
fn serve_conn(store: &Store, s: Box<dyn Stream>) -> std::io::Result<bool> {
    let mut s = BufReader::new(s);
    loop {
        let body = match read_frame(&mut s)? {
            None => return Ok(false),
            Some(Err(n)) => {
                let msg = format!("frame of {n} bytes is longer than {MAX_FRAME}; closing");
                write_frame(s.get_mut(), &[&[STATUS_ERR], msg.as_bytes()])?;
                return Ok(false);
            }
            Some(Ok(b)) => b,
        };
        if body.as_slice() == [OP_SHUTDOWN] {
            store.file.sync_all()?;
            write_frame(s.get_mut(), &[&[STATUS_OK]])?;
            return Ok(true);
        }
        match store.handle(&body) {
            Ok(payload) => write_frame(s.get_mut(), &[&[STATUS_OK], &payload])?,
            Err(msg) => write_frame(s.get_mut(), &[&[STATUS_ERR], msg.as_bytes()])?,
        }
    }
}

/// A bound memory host, not serving yet.
pub struct Server {
    store: Arc<Store>,
    listener: Listener,
    /// Where it listens (a TCP port 0 resolved).
    pub addr: String,
}

enum Listener {
    Unix(UnixListener, String),
    Tcp(TcpListener),
}

impl Server {
    pub fn bind(addr: &str, store: Store) -> Result<Server> {
        let (listener, addr) = match Addr::parse(addr)? {
            Addr::Unix(p) => {
                if std::fs::symlink_metadata(&p).is_ok_and(|m| {
                    use std::os::unix::fs::FileTypeExt;
                    m.file_type().is_socket()
                }) {
                    // A stale socket from an earlier run.
                    std::fs::remove_file(&p).ok();
                }
                let l = UnixListener::bind(&p).with_context(|| format!("{p}: cannot listen"))?;
                (Listener::Unix(l, p.clone()), format!("unix:{p}"))
            }
            Addr::Tcp(a) => {
                let l = TcpListener::bind(&a).with_context(|| format!("{a}: cannot listen"))?;
                let local = l.local_addr()?;
                (Listener::Tcp(l), format!("tcp:{local}"))
            }
        };
        Ok(Server {
            store: Arc::new(store),
            listener,
            addr,
        })
    }

    /// Serves connections, each on its own thread, until a client sends
    /// SHUTDOWN; then removes a Unix socket file and returns.
    pub fn run(self) -> Result<()> {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let accept = |s: Box<dyn Stream>| {
            let store = self.store.clone();
            let tx = tx.clone();
            std::thread::spawn(move || {
                if let Ok(true) = serve_conn(&store, s) {
                    tx.send(()).ok();
                }
            });
        };
        // The accept loop runs on its own thread; this one waits for SHUTDOWN.
        let listener = self.listener;
        let socket_path = match &listener {
            Listener::Unix(_, p) => Some(p.clone()),
            Listener::Tcp(_) => None,
        };
        std::thread::scope(|sc| {
            sc.spawn(move || match listener {
                Listener::Unix(l, _) => {
                    for s in l.incoming().flatten() {
                        accept(Box::new(s));
                    }
                }
                Listener::Tcp(l) => {
                    for s in l.incoming().flatten() {
                        s.set_nodelay(true).ok();
                        accept(Box::new(s));
                    }
                }
            });
            rx.recv().ok();
            if let Some(p) = &socket_path {
                std::fs::remove_file(p).ok();
            }
            // The accept thread blocks in accept(); the process exits from here.
            std::process::exit(0)
        })
    }
}

/// A connection to a memory host.
pub struct Client {
    s: BufWriter<Box<dyn Stream>>,
    pages: u64,
    name: String,
}

impl Client {
    /// Connects and asks for the page count.
    pub fn connect(addr: &str) -> Result<Client> {
        let s: Box<dyn Stream> = match Addr::parse(addr)? {
            Addr::Unix(p) => Box::new(UnixStream::connect(&p).context("cannot connect")?),
            Addr::Tcp(a) => {
                let s = TcpStream::connect(&a).context("cannot connect")?;
                s.set_nodelay(true).ok();
                Box::new(s)
            }
        };
        let mut c = Client {
            s: BufWriter::new(s),
            pages: 0,
            name: addr.into(),
        };
        let info = c.call(&[&[OP_INFO]])?;
        c.pages = u64::from_le_bytes(
            info.as_slice()
                .try_into()
                .map_err(|_| anyhow!("{addr}: INFO reply of {} bytes", info.len()))?,
        );
        if c.pages == 0 {
            bail!("{addr}: the memory host serves no pages");
        }
        Ok(c)
    }

    pub fn pages(&self) -> u64 {
        self.pages
    }

    /// Sends one raw request body; returns the reply's payload, or its error
    /// message as the error.
    pub fn call(&mut self, parts: &[&[u8]]) -> Result<Vec<u8>> {
        let name = &self.name;
        write_frame(&mut self.s, parts).with_context(|| format!("{name}: send failed"))?;
        let reply = read_frame(self.s.get_mut())
            .with_context(|| format!("{name}: receive failed"))?
            .ok_or_else(|| anyhow!("{name}: connection closed"))?
            .map_err(|n| anyhow!("{name}: reply of {n} bytes is too long"))?;
        match reply.split_first() {
            Some((&STATUS_OK, rest)) => Ok(rest.to_vec()),
            Some((&STATUS_ERR, msg)) => bail!("{name}: {}", String::from_utf8_lossy(msg)),
            _ => bail!("{name}: malformed reply"),
        }
    }

    pub fn read(&mut self, page: u64) -> Result<Vec<u8>> {
        let b = self.call(&[&[OP_READ], &page.to_le_bytes()])?;
        if b.len() != PAGE {
            bail!("{}: READ reply of {} bytes", self.name, b.len());
        }
        Ok(b)
    }

    pub fn write(&mut self, page: u64, data: &[u8; PAGE]) -> Result<()> {
        self.call(&[&[OP_WRITE], &page.to_le_bytes(), data])
            .map(|_| ())
    }

    /// Asks the server process to exit.
    pub fn shutdown(mut self) -> Result<()> {
        self.call(&[&[OP_SHUTDOWN]]).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_answers_and_refuses_in_one_line() {
        let dir = std::env::temp_dir().join(format!("lw-memhost-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let st = Store::open(&dir.join("s.bin"), Some(3)).unwrap();
        assert_eq!(st.handle(&[OP_INFO]).unwrap(), 3u64.to_le_bytes());
        let mut w = vec![OP_WRITE];
        w.extend(2u64.to_le_bytes());
        w.extend([7u8; PAGE]);
        assert!(st.handle(&w).unwrap().is_empty());
        let mut r = vec![OP_READ];
        r.extend(2u64.to_le_bytes());
        assert_eq!(st.handle(&r).unwrap(), vec![7u8; PAGE]);
        for bad in [vec![], vec![9], vec![OP_READ, 1], {
            let mut r = vec![OP_READ];
            r.extend(3u64.to_le_bytes());
            r
        }] {
            let e = st.handle(&bad).unwrap_err();
            assert!(!e.is_empty() && !e.contains('\n'), "{e}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
