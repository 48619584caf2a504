//! The device's ports, one table for both sides of the model ≡ RTL contract.
//!
//! Every port is sampled on the rising clock edge. Outputs named `*_ready` are
//! combinational functions of state and inputs; every other output comes from a
//! register. The Verilator bridge packs both structs into `u64` words in table
//! order, each port starting on a fresh word.

use crate::protocol::Line;

/// Name and width of one port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Port {
    pub name: &'static str,
    pub width: usize,
}

impl Port {
    /// `u64` words this port occupies in a packed buffer.
    pub const fn words(&self) -> usize {
        self.width.div_ceil(64)
    }
}

/// The low `bits` bits set: a port's value range.
#[inline]
pub fn low_mask(bits: usize) -> u64 {
    if bits >= 64 {
        u64::MAX
    } else {
        (1 << bits) - 1
    }
}

trait PackField {
    /// Pack, keeping only the port's `width` bits (a port cannot carry more).
    fn pack(&self, out: &mut [u64], width: usize);
    fn unpack(inp: &[u64]) -> Self;
}
impl PackField for bool {
    fn pack(&self, out: &mut [u64], _: usize) {
        out[0] = *self as u64;
    }
    fn unpack(inp: &[u64]) -> Self {
        inp[0] & 1 != 0
    }
}
impl PackField for u64 {
    fn pack(&self, out: &mut [u64], width: usize) {
        out[0] = *self & low_mask(width);
    }
    fn unpack(inp: &[u64]) -> Self {
        inp[0]
    }
}
impl PackField for Line {
    fn pack(&self, out: &mut [u64], _: usize) {
        out[..self.len()].copy_from_slice(self);
    }
    fn unpack(inp: &[u64]) -> Self {
        let mut l = [0; crate::protocol::DATA_WORDS];
        l.copy_from_slice(&inp[..crate::protocol::DATA_WORDS]);
        l
    }
}

macro_rules! port_struct {
    ($(#[$m:meta])* $name:ident, $table:ident, $words:ident { $($(#[$fm:meta])* $field:ident : $ty:ty = $w:expr),* $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Debug, Default, PartialEq, Eq)]
        pub struct $name { $($(#[$fm])* pub $field: $ty),* }

        /// Port table in packing order.
        pub const $table: &[Port] = &[$(Port { name: stringify!($field), width: $w }),*];
        /// Packed size in `u64` words.
        pub const $words: usize = 0 $(+ ($w as usize).div_ceil(64))*;

        impl $name {
            /// Pack into `out` (at least the table's word count), table order.
            pub fn pack(&self, out: &mut [u64]) {
                let mut at = 0;
                $( let n = ($w as usize).div_ceil(64); PackField::pack(&self.$field, &mut out[at..at + n], $w); at += n; )*
                let _ = at;
            }
            /// Unpack from words laid out by [`Self::pack`].
            pub fn unpack(inp: &[u64]) -> Self {
                let mut at = 0;
                $( let n = ($w as usize).div_ceil(64); let $field = PackField::unpack(&inp[at..at + n]); at += n; )*
                let _ = at;
                Self { $($field),* }
            }
        }
    };
}

use crate::device::pt_trigger::PFN_BITS;
use crate::protocol::{
    ADDR_BITS as A, BITAG_BITS as BT, DATA_BITS as D, ERR_CODE_BITS, ERR_COUNT_BITS, HV_INDEX_BITS,
    HV_LEVEL_BITS, MASK_BITS, META_BITS as M, OPCODE_BITS as O, RSP_OPCODE_BITS as RO,
    TAG_BITS as T,
};

port_struct! {
    /// Everything driven into the device in one cycle.
    Inputs, INPUT_PORTS, INPUT_WORDS {
        // request channel (host -> device)
        req_valid: bool = 1, req_opcode: u64 = O, req_meta: u64 = M, req_tag: u64 = T, req_addr: u64 = A,
        // request-with-data channel (host -> device)
        rwd_valid: bool = 1, rwd_opcode: u64 = O, rwd_meta: u64 = M, rwd_tag: u64 = T, rwd_addr: u64 = A,
        rwd_mask: u64 = MASK_BITS, rwd_data: Line = D,
        // host readiness for the device's response and snoop channels
        ndr_ready: bool = 1, drs_ready: bool = 1, bisnp_ready: bool = 1,
        // snoop-response channel (host -> device)
        birsp_valid: bool = 1, birsp_opcode: u64 = O, birsp_bitag: u64 = BT,
        // device-memory port
        mem_req_ready: bool = 1, mem_rsp_valid: bool = 1, mem_rsp_data: Line = D,
        // command port (recall a line with a snoop)
        cmd_valid: bool = 1, cmd_opcode: u64 = O, cmd_addr: u64 = A,
        // harvest port
        hv_valid: bool = 1, hv_op: u64 = 1, hv_level: u64 = HV_LEVEL_BITS, hv_index: u64 = HV_INDEX_BITS,
        // fetch-engine port (page-table trigger): request readiness and responses
        fetch_ready: bool = 1, fetch_rsp_valid: bool = 1, fetch_rsp_frame: u64 = PFN_BITS,
    }
}

port_struct! {
    /// Everything the device drives in one cycle.
    Outputs, OUTPUT_PORTS, OUTPUT_WORDS {
        req_ready: bool = 1, rwd_ready: bool = 1,
        ndr_valid: bool = 1, ndr_opcode: u64 = RO, ndr_tag: u64 = T,
        drs_valid: bool = 1, drs_opcode: u64 = RO, drs_meta: u64 = M, drs_tag: u64 = T, drs_data: Line = D,
        bisnp_valid: bool = 1, bisnp_opcode: u64 = O, bisnp_bitag: u64 = BT, bisnp_addr: u64 = A,
        birsp_ready: bool = 1,
        mem_req_valid: bool = 1, mem_req_write: bool = 1, mem_req_addr: u64 = A,
        mem_req_mask: u64 = MASK_BITS, mem_req_data: Line = D,
        mem_rsp_ready: bool = 1,
        cmd_ready: bool = 1,
        hv_ready: bool = 1, hv_rsp_valid: bool = 1, hv_rsp_data: u64 = 64,
        err_count: u64 = ERR_COUNT_BITS, err_code: u64 = ERR_CODE_BITS,
        fetch_valid: bool = 1, fetch_frame: u64 = PFN_BITS, fetch_rsp_ready: bool = 1,
    }
}

/// Extract port `idx` of `table` from a packed buffer (for waveforms and reports).
pub fn port_words<'a>(table: &[Port], packed: &'a [u64], idx: usize) -> &'a [u64] {
    let at: usize = table[..idx].iter().map(Port::words).sum();
    &packed[at..at + table[idx].words()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_roundtrip_keeps_every_field() {
        let mut i = Inputs {
            req_valid: true,
            req_addr: 0x3fff_ffff_ffff,
            rwd_mask: u64::MAX,
            hv_index: 0xabcdef,
            ..Default::default()
        };
        i.rwd_data[7] = 0xdead_beef;
        i.mem_rsp_data[0] = 42;
        let mut buf = vec![0; INPUT_WORDS];
        i.pack(&mut buf);
        assert_eq!(Inputs::unpack(&buf), i);
        let d = INPUT_PORTS
            .iter()
            .position(|p| p.name == "rwd_data")
            .unwrap();
        assert_eq!(port_words(INPUT_PORTS, &buf, d)[7], 0xdead_beef);
        assert_eq!(
            INPUT_WORDS,
            INPUT_PORTS.iter().map(Port::words).sum::<usize>()
        );
        assert_eq!(
            OUTPUT_WORDS,
            OUTPUT_PORTS.iter().map(Port::words).sum::<usize>()
        );
    }
}
