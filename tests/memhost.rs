//! `linewatch memhost` as a real process: pages round-trip over its socket, bad
//! requests get error replies, `sim` fetches page contents from it without the
//! socket's wall-clock time reaching the simulated results, and SHUTDOWN ends the
//! process cleanly.
mod common;

use common::*;
use linewatch_sw::memhost::{Client, MAX_FRAME, OP_READ, PAGE};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

/// Starts a memory host and waits for its "serving" line; returns the address.
fn spawn(listen: &str, file: &str, pages: &str) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args([
            "memhost", "--listen", listen, "--file", file, "--pages", pages,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(line.starts_with("memhost: serving"), "{line}");
    let addr = line.trim().rsplit(' ').next().unwrap().to_string();
    (child, addr)
}

fn exits_cleanly(mut child: Child) {
    let st = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(st.success() && err.is_empty(), "{st}: {err}");
}

#[test]
fn pages_round_trip_and_bad_requests_get_errors() {
    let d = scratch("memhost");
    let sock = d.join("m.sock");
    let file = d.join("store.bin");
    let (child, addr) = spawn(
        &format!("unix:{}", sock.display()),
        file.to_str().unwrap(),
        "16",
    );
    assert_eq!(addr, format!("unix:{}", sock.display()));
    let mut c = Client::connect(&addr).unwrap();
    assert_eq!(c.pages(), 16);
    let mut page = [0u8; PAGE];
    for (k, b) in page.iter_mut().enumerate() {
        *b = (k * 7 % 251) as u8;
    }
    c.write(5, &page).unwrap();
    assert_eq!(c.read(5).unwrap(), page.to_vec());
    assert_eq!(c.read(4).unwrap(), vec![0; PAGE]);
    // Error replies, one line each, and the connection stays usable.
    for e in [
        c.read(16).unwrap_err().to_string(),
        c.call(&[&[42]]).unwrap_err().to_string(),
        c.call(&[&[OP_READ, 1, 2]]).unwrap_err().to_string(),
        c.call(&[]).unwrap_err().to_string(),
    ] {
        assert!(e.starts_with(&addr) && !e.contains('\n'), "{e}");
    }
    assert_eq!(c.read(5).unwrap(), page.to_vec());
    // A second client at the same time.
    let mut c2 = Client::connect(&addr).unwrap();
    assert_eq!(c2.read(5).unwrap(), page.to_vec());
    // An overlong frame: an error reply, then the server closes that connection.
    let mut raw = std::os::unix::net::UnixStream::connect(&sock).unwrap();
    raw.write_all(&(MAX_FRAME + 1).to_le_bytes()).unwrap();
    let mut reply = Vec::new();
    raw.read_to_end(&mut reply).unwrap();
    assert_eq!(reply[4], 1, "error status");
    assert!(String::from_utf8_lossy(&reply[5..]).contains("longer"));
    // The page reached the file.
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(bytes.len(), 16 * PAGE);
    assert_eq!(&bytes[5 * PAGE..6 * PAGE], &page[..]);
    c.shutdown().unwrap();
    exits_cleanly(child);
    assert!(!sock.exists(), "socket file removed");
}

#[test]
fn sim_fetches_contents_from_hosts_without_changing_its_timing() {
    let d = scratch("memhost-sim");
    let t = d.join("seq.bin");
    let t = t.to_str().unwrap();
    json_of(&run(&[
        "trace",
        "gen",
        "--kind",
        "sequential",
        "--count",
        "30000",
        "--size",
        "64",
        "--out",
        t,
        "--json",
    ]));
    // Two hosts: one on a Unix socket, one on TCP (port chosen by the system).
    let (a, addr_a) = spawn(
        &format!("unix:{}", d.join("a.sock").display()),
        d.join("a.bin").to_str().unwrap(),
        "64",
    );
    let (b, addr_b) = spawn("tcp:127.0.0.1:0", d.join("b.bin").to_str().unwrap(), "64");
    assert!(addr_b.starts_with("tcp:127.0.0.1:") && !addr_b.ends_with(":0"));
    // Give the stores contents, so the checksum depends on them.
    for (addr, fill) in [(&addr_a, 3u8), (&addr_b, 9u8)] {
        let mut c = Client::connect(addr).unwrap();
        for p in 0..64 {
            c.write(p, &[fill.wrapping_add(p as u8); PAGE]).unwrap();
        }
    }
    let base = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("configs/sim-remote.toml"),
    )
    .unwrap();
    let cfg = |hosts: &str| {
        let p = d.join(format!("c{}.toml", hosts.len()));
        std::fs::write(
            &p,
            base.replace("hosts = []", &format!("hosts = [{hosts}]")),
        )
        .unwrap();
        p
    };
    let with = cfg(&format!("\"{addr_a}\", \"{addr_b}\""));
    let without = cfg("");
    let sim = |c: &std::path::Path, policy: &str| {
        json_of(&run(&[
            "sim",
            "--config",
            c.to_str().unwrap(),
            "--trace",
            t,
            "--prefetch",
            policy,
            "--json",
        ]))
    };
    let r1 = sim(&with, "readahead");
    let r2 = sim(&with, "readahead");
    let r0 = sim(&without, "readahead");
    let fetched = field(&r1, "faults") + field(&r1, "prefetch_issued");
    assert!(fetched > 10.0);
    assert_eq!(field(&r1, "host_pages"), fetched);
    assert_eq!(field(&r0, "host_pages"), 0.0);
    assert_ne!(field(&r1, "host_checksum"), 0.0);
    assert_eq!(field(&r1, "host_checksum"), field(&r2, "host_checksum"));
    // Simulated time does not see the sockets.
    for k in [
        "sim_cycles",
        "faults",
        "prefetch_issued",
        "late",
        "amat_cycles",
    ] {
        assert_eq!(field(&r1, k), field(&r0, k), "{k}");
        assert_eq!(field(&r1, k), field(&r2, k), "{k}");
    }
    // The device's page-table trigger reads its pages' contents from the hosts too.
    let (p1, p0) = (sim(&with, "pt"), sim(&without, "pt"));
    assert!(field(&p1, "prefetch_issued") > 10.0, "{p1}");
    assert_eq!(
        field(&p1, "host_pages"),
        field(&p1, "faults") + field(&p1, "prefetch_issued")
    );
    assert_ne!(field(&p1, "host_checksum"), 0.0);
    for k in ["sim_cycles", "faults", "prefetch_issued", "amat_cycles"] {
        assert_eq!(field(&p1, k), field(&p0, k), "{k}");
    }
    // A host that is not there: one line naming it.
    let gone = cfg(&format!("\"unix:{}\"", d.join("none.sock").display()));
    let e = error_of(&run(&[
        "sim",
        "--config",
        gone.to_str().unwrap(),
        "--trace",
        t,
    ]));
    assert!(e.contains("none.sock"), "{e}");
    for addr in [addr_a, addr_b] {
        Client::connect(&addr).unwrap().shutdown().unwrap();
    }
    exits_cleanly(a);
    exits_cleanly(b);
}

#[test]
fn bad_memhost_arguments_are_one_line() {
    let d = scratch("memhost-bad");
    let f = d.join("s.bin");
    let f = f.to_str().unwrap();
    let e = error_of(&run(&[
        "memhost", "--listen", "udp:x", "--file", f, "--pages", "4",
    ]));
    assert!(e.contains("udp:x"), "{e}");
    assert!(
        !std::path::Path::new(f).exists(),
        "no file for a bad address"
    );
    let e = error_of(&run(&[
        "memhost",
        "--listen",
        "tcp:127.0.0.1:0",
        "--file",
        f,
        "--pages",
        "0",
    ]));
    assert!(e.contains("--pages 0"), "{e}");
    let e = error_of(&run(&[
        "memhost",
        "--listen",
        "tcp:127.0.0.1:0",
        "--file",
        f,
    ]));
    assert!(e.contains("no whole 4 KiB page"), "{e}");
}
