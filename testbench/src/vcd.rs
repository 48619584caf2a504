//! Value-change-dump writer for the cycles around a lockstep mismatch: the inputs
//! once, and each side's outputs under its own scope.

use linewatch_model::ports::{port_words, Port, INPUT_PORTS, OUTPUT_PORTS};
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// One recorded cycle: packed inputs and both sides' packed outputs.
pub struct Sample {
    pub cycle: u64,
    pub inputs: Vec<u64>,
    pub a: Vec<u64>,
    pub b: Vec<u64>,
}

fn id(n: usize) -> String {
    // Printable VCD identifiers: base-94 over '!'..'~'.
    let mut n = n;
    let mut s = String::new();
    loop {
        s.push((b'!' + (n % 94) as u8) as char);
        n /= 94;
        if n == 0 {
            return s;
        }
    }
}

fn value(words: &[u64], width: usize) -> String {
    if width == 1 {
        return format!("{}", words[0] & 1);
    }
    let mut s = String::with_capacity(width + 1);
    s.push('b');
    let mut started = false;
    for bit in (0..width).rev() {
        let v = words[bit / 64] >> (bit % 64) & 1;
        if v == 1 || started || bit == 0 {
            started = true;
            s.push(if v == 1 { '1' } else { '0' });
        }
    }
    s.push(' ');
    s
}

/// Write `samples` as a VCD with scopes `inputs`, `<a_name>` and `<b_name>`.
pub fn write(path: &Path, samples: &[Sample], a_name: &str, b_name: &str) -> std::io::Result<()> {
    let mut h = String::new();
    writeln!(
        h,
        "$date linewatch lockstep $end\n$timescale 1ns $end\n$scope module top $end"
    )
    .unwrap();
    writeln!(h, "$var wire 1 {} clock $end", id(0)).unwrap();
    let mut vars: Vec<(usize, &Port, usize, usize)> = Vec::new(); // (id, port, which, index)
    let mut next = 1;
    for (which, scope, table) in [
        (0, "inputs", INPUT_PORTS),
        (1, a_name, OUTPUT_PORTS),
        (2, b_name, OUTPUT_PORTS),
    ] {
        writeln!(h, "$scope module {scope} $end").unwrap();
        for (k, p) in table.iter().enumerate() {
            writeln!(h, "$var wire {} {} {} $end", p.width, id(next), p.name).unwrap();
            vars.push((next, p, which, k));
            next += 1;
        }
        writeln!(h, "$upscope $end").unwrap();
    }
    writeln!(h, "$upscope $end\n$enddefinitions $end").unwrap();
    let mut last: Vec<Option<String>> = vec![None; next];
    for s in samples {
        let t = s.cycle * 10;
        writeln!(h, "#{t}\n0{}", id(0)).unwrap();
        for &(vid, p, which, k) in &vars {
            let (table, buf) = match which {
                0 => (INPUT_PORTS, &s.inputs),
                1 => (OUTPUT_PORTS, &s.a),
                _ => (OUTPUT_PORTS, &s.b),
            };
            let v = value(port_words(table, buf, k), p.width);
            if last[vid].as_ref() != Some(&v) {
                writeln!(h, "{v}{}", id(vid)).unwrap();
                last[vid] = Some(v);
            }
        }
        writeln!(h, "#{}\n1{}", t + 5, id(0)).unwrap();
    }
    let tmp = path.with_extension("vcd.partial");
    std::fs::File::create(&tmp)?.write_all(h.as_bytes())?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_ids_are_well_formed() {
        assert_eq!(value(&[1], 1), "1");
        assert_eq!(value(&[5], 4), "b101 ");
        assert_eq!(value(&[0, 1], 65), "b1".to_string() + &"0".repeat(64) + " ");
        assert_eq!(id(0), "!");
        assert_eq!(id(94), "!\"");
    }
}
