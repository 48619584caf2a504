//! The register map: where the device's cacheable registers sit in the register
//! page and what their fields encode (docs/registers.md). One definition for the
//! device (model and RTL) and the driver.

/// Lines in the register page (one 4 KiB page).
pub const PAGE_LINES: u64 = 64;
/// Bytes in the register page: the window's last 4 KiB.
pub const PAGE_BYTES: u64 = PAGE_LINES * 64;

/// Register lines, by index in the page.
pub const LINE_IDENT: u64 = 0;
pub const LINE_PARAMS: u64 = 1;
pub const LINE_CONTROL: u64 = 2;
pub const LINE_COMMAND: u64 = 3;
pub const LINE_DOORBELL: u64 = 4;
pub const LINE_COMPLETION: u64 = 5;
pub const LINE_STATUS: u64 = 6;
pub const LINE_EVENTS: u64 = 7;
/// The event ring: lines RING_FIRST.. of the page, eight 64-bit records a line.
pub const RING_FIRST: u64 = 8;
pub const RING_RECORDS: u64 = 32;

/// Words of the command line the agent keeps (the rest read as zero).
pub const CMD_WORDS: usize = 4;

/// Event record kinds (bits 63:60 of a record).
pub const EV_DIRTY: u64 = 1;
pub const EV_RECALL: u64 = 2;
pub const EV_ERROR: u64 = 3;
/// Page-table trigger records (bits 39:0: the frame): its fetch answered in time
/// (`DONE`) or after its timer (`LATE`), its timer fired (`TIMEOUT`: the PTE went
/// back not present), no in-flight entry or queue room (`FULL`: P cleared at once).
pub const EV_PT_DONE: u64 = 4;
pub const EV_PT_LATE: u64 = 5;
pub const EV_PT_TIMEOUT: u64 = 6;
pub const EV_PT_FULL: u64 = 7;

/// Identity line word 0: "LINEWTCH" little-endian.
pub const MAGIC: u64 = u64::from_le_bytes(*b"LINEWTCH");
/// Register-map version: major in bits 31:16, minor in 15:0.
pub const VERSION: u64 = VERSION_MAJOR << 16;
/// The major version (a driver refuses another).
pub const VERSION_MAJOR: u64 = 1;

/// Command opcodes (command line word 0, bits 7:0).
pub const CMD_NOP: u64 = 0;
pub const CMD_HARVEST_SWAP: u64 = 1;
pub const CMD_HARVEST_READ: u64 = 2;
pub const CMD_RECALL: u64 = 3;
pub const CMD_SET_CONTROL: u64 = 4;
/// Page-table trigger: argument 0 a frame, argument 1 = 1 to set, 0 to clear.
/// `PT_REGISTER` adds / drops a page-table page (NO_SPACE when the registry is
/// full); `PT_RESIDENT` marks a frame of the trigger's window resident or not.
pub const CMD_PT_REGISTER: u64 = 5;
pub const CMD_PT_RESIDENT: u64 = 6;

/// Completion status / error codes.
pub const ST_OK: u64 = 0;
pub const ST_UNKNOWN_COMMAND: u64 = 1;
pub const ST_BAD_ARG: u64 = 2;
pub const ST_READ_ONLY: u64 = 3;
pub const ST_BUSY: u64 = 4;
pub const ST_BAD_BIRSP: u64 = 5;
pub const ST_BAD_MESSAGE: u64 = 6;
pub const ST_NO_SPACE: u64 = 7;

/// Completion status and register error codes, by value.
pub const STATUS_NAMES: [&str; 8] = [
    "ok",
    "unknown command",
    "bad argument",
    "write to a read-only register",
    "busy",
    "stray snoop response",
    "bad message",
    "no space",
];

/// Parameters line word 7: the page-table trigger (0 when it is not built): bit 0
/// built, then (shift, width) per field: registry entries (5:1), in-flight entries
/// (12:8), timer (32:16), residency frames (56:40).
const PT_FIELDS: [(u32, u32); 4] = [(1, 5), (8, 5), (16, 17), (40, 17)];

/// Parameters line word 7 for the trigger `pt`.
pub fn pt_params_word(pt: Option<&crate::device::pt_trigger::PtParams>) -> u64 {
    pt.map_or(0, |p| {
        let v = [
            p.registry as u64,
            p.inflight as u64,
            p.timer,
            p.window_frames,
        ];
        v.iter()
            .zip(PT_FIELDS)
            .fold(1, |w, (&x, (sh, _))| w | x << sh)
    })
}

/// The fields of parameters word 7 (registry, in flight, timer, frames), or `None`
/// when the device has no trigger.
pub fn pt_params_fields(w: u64) -> Option<[u64; 4]> {
    (w & 1 != 0).then(|| PT_FIELDS.map(|(sh, bits)| w >> sh & ((1 << bits) - 1)))
}

/// First frame of the trigger's residency window: the window's last `frames` pages
/// below the register page.
pub const fn pt_first_frame(window_base_line: u64, window_lines: u64, frames: u64) -> u64 {
    (window_base_line + window_lines) / PAGE_LINES - 1 - frames
}
