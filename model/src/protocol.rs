//! The coherent-link protocol: one definition of every message, field width and
//! encoding. The RTL generator imports these constants, so the two sides cannot drift.
//!
//! Opcode and meta encodings follow CXL.mem (HDM-DB) where CXL defines them; see
//! `docs/protocol.md` for the flows and the mapping to CXL.cache and CCIX names.

/// Bytes in a cache line.
pub const LINE_BYTES: u64 = 64;
/// Width of a line address (byte address bits [51:6], as CXL's `Addr[51:6]`).
pub const ADDR_BITS: usize = 46;
/// Host transaction tag width (CXL M2S `Tag`).
pub const TAG_BITS: usize = 16;
/// Back-invalidate tag width (CXL `BITag`): names a snoop-tracker slot.
pub const BITAG_BITS: usize = 12;
/// Opcode width on request, request-with-data, snoop and snoop-response channels.
pub const OPCODE_BITS: usize = 4;
/// Opcode width on the two response channels (CXL S2M NDR/DRS use 3 bits).
pub const RSP_OPCODE_BITS: usize = 3;
/// Meta value width (CXL `MetaValue`).
pub const META_BITS: usize = 2;
/// Line data width in bits.
pub const DATA_BITS: usize = 512;
/// Byte-enable width of a partial write.
pub const MASK_BITS: usize = 64;
/// Words of `u64` in a line.
pub const DATA_WORDS: usize = DATA_BITS / 64;
/// Harvest port: word index width (enough for 2^24 lines at fan-out 16).
pub const HV_INDEX_BITS: usize = 24;
/// Harvest port: level field width.
pub const HV_LEVEL_BITS: usize = 2;
/// Device-visible error counter width.
pub const ERR_COUNT_BITS: usize = 16;
/// Error code width.
pub const ERR_CODE_BITS: usize = 4;
/// Line address mask.
pub const ADDR_MASK: u64 = (1 << ADDR_BITS) - 1;

/// One line of data, little-endian 64-bit words (word 0 holds bytes 0..8).
pub type Line = [u64; DATA_WORDS];

/// Host cache state carried in requests and grants (CXL `MetaValue`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Meta {
    /// The host will not hold the line (or gives it up).
    Invalid = 0b00,
    /// "Any": the host may hold the line exclusively and may dirty it (our `A`).
    Any = 0b10,
    /// The host may hold a clean, shared copy.
    Shared = 0b11,
}

impl Meta {
    pub const fn from_bits(b: u8) -> Option<Meta> {
        match b {
            0b00 => Some(Meta::Invalid),
            0b10 => Some(Meta::Any),
            0b11 => Some(Meta::Shared),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            Meta::Invalid => "I",
            Meta::Any => "A",
            Meta::Shared => "S",
        }
    }
}

/// Request channel (host -> device), CXL M2S Req opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReqOp {
    /// Change the host's tracked state without data (meta I/S/A); answered on NDR.
    MemInv = 0b0000,
    /// Read a line; the host will hold it in the state named by meta.
    MemRd = 0b0001,
    /// Read a line for data; the device grants A (exclusive).
    MemRdData = 0b0010,
    /// The host dropped a clean line.
    MemClnEvct = 0b1010,
}

impl ReqOp {
    pub const ALL: [ReqOp; 4] = [
        ReqOp::MemInv,
        ReqOp::MemRd,
        ReqOp::MemRdData,
        ReqOp::MemClnEvct,
    ];
    pub const fn from_bits(b: u8) -> Option<ReqOp> {
        match b {
            0b0000 => Some(ReqOp::MemInv),
            0b0001 => Some(ReqOp::MemRd),
            0b0010 => Some(ReqOp::MemRdData),
            0b1010 => Some(ReqOp::MemClnEvct),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            ReqOp::MemInv => "MemInv",
            ReqOp::MemRd => "MemRd",
            ReqOp::MemRdData => "MemRdData",
            ReqOp::MemClnEvct => "MemClnEvct",
        }
    }
}

/// Request-with-data channel (host -> device), CXL M2S RwD opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RwdOp {
    /// Full-line dirty writeback (meta I or S: the state the host keeps).
    MemWr = 0b0001,
    /// Partial write under a byte mask.
    MemWrPtl = 0b0010,
}

impl RwdOp {
    pub const ALL: [RwdOp; 2] = [RwdOp::MemWr, RwdOp::MemWrPtl];
    pub const fn from_bits(b: u8) -> Option<RwdOp> {
        match b {
            0b0001 => Some(RwdOp::MemWr),
            0b0010 => Some(RwdOp::MemWrPtl),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            RwdOp::MemWr => "MemWr",
            RwdOp::MemWrPtl => "MemWrPtl",
        }
    }
}

/// No-data response channel (device -> host), CXL S2M NDR opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum NdrOp {
    Cmp = 0b000,
    CmpS = 0b001,
    CmpE = 0b010,
}

impl NdrOp {
    pub const ALL: [NdrOp; 3] = [NdrOp::Cmp, NdrOp::CmpS, NdrOp::CmpE];
    pub const fn from_bits(b: u8) -> Option<NdrOp> {
        match b {
            0b000 => Some(NdrOp::Cmp),
            0b001 => Some(NdrOp::CmpS),
            0b010 => Some(NdrOp::CmpE),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            NdrOp::Cmp => "Cmp",
            NdrOp::CmpS => "Cmp-S",
            NdrOp::CmpE => "Cmp-E",
        }
    }
}

/// Data response channel (device -> host), CXL S2M DRS opcode.
pub const DRS_MEMDATA: u8 = 0b000;

/// Back-invalidate snoop channel (device -> host), CXL S2M BISnp opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SnpOp {
    /// Return current data if dirty; the host keeps its state.
    BISnpCur = 0b0000,
    /// Downgrade to at most S; dirty data is written back.
    BISnpData = 0b0001,
    /// Invalidate; dirty data is written back.
    BISnpInv = 0b0010,
}

impl SnpOp {
    pub const ALL: [SnpOp; 3] = [SnpOp::BISnpCur, SnpOp::BISnpData, SnpOp::BISnpInv];
    pub const fn from_bits(b: u8) -> Option<SnpOp> {
        match b {
            0b0000 => Some(SnpOp::BISnpCur),
            0b0001 => Some(SnpOp::BISnpData),
            0b0010 => Some(SnpOp::BISnpInv),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            SnpOp::BISnpCur => "BISnpCur",
            SnpOp::BISnpData => "BISnpData",
            SnpOp::BISnpInv => "BISnpInv",
        }
    }
    /// Whether `rsp` is a legal answer to this snoop.
    pub const fn allows(self, rsp: RspOp) -> bool {
        match self {
            SnpOp::BISnpInv => matches!(rsp, RspOp::BIRspI),
            SnpOp::BISnpData => matches!(rsp, RspOp::BIRspI | RspOp::BIRspS),
            SnpOp::BISnpCur => true,
        }
    }
}

/// Snoop-response channel (host -> device), CXL M2S BIRsp opcodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum RspOp {
    BIRspI = 0b0000,
    BIRspS = 0b0001,
    BIRspE = 0b0010,
}

impl RspOp {
    pub const ALL: [RspOp; 3] = [RspOp::BIRspI, RspOp::BIRspS, RspOp::BIRspE];
    pub const fn from_bits(b: u8) -> Option<RspOp> {
        match b {
            0b0000 => Some(RspOp::BIRspI),
            0b0001 => Some(RspOp::BIRspS),
            0b0010 => Some(RspOp::BIRspE),
            _ => None,
        }
    }
    pub const fn name(self) -> &'static str {
        match self {
            RspOp::BIRspI => "BIRspI",
            RspOp::BIRspS => "BIRspS",
            RspOp::BIRspE => "BIRspE",
        }
    }
}

/// Harvest port operations.
pub const HV_SWAP: u8 = 0;
pub const HV_READ_CLEAR: u8 = 1;
/// Cycles from a harvest read's acceptance to its word on `hv_rsp_data`: the read
/// address is registered beside the bitmap's RAMs, then the RAM's read and output
/// registers, a register on the way back from the RAMs, then a register per level
/// that picks the bank.
pub const HV_LATENCY: usize = 5;

/// Protocol violations the device detects, reported in `err_code`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ErrCode {
    None = 0,
    /// Unknown opcode on the request, request-with-data or command channel.
    BadOpcode = 1,
    /// Reserved meta value, or a write that claims to keep the line in A.
    BadMeta = 2,
    /// Snoop response naming a tracker slot with no snoop outstanding.
    BadBiTag = 3,
    /// Snoop response not allowed for the snoop it answers.
    BadBiRsp = 4,
    /// Address outside the coherent window.
    OutOfWindow = 5,
    /// Harvest read of a level the configuration does not have.
    BadHarvest = 6,
}

impl ErrCode {
    pub const fn from_bits(b: u8) -> Option<ErrCode> {
        match b {
            0 => Some(ErrCode::None),
            1 => Some(ErrCode::BadOpcode),
            2 => Some(ErrCode::BadMeta),
            3 => Some(ErrCode::BadBiTag),
            4 => Some(ErrCode::BadBiRsp),
            5 => Some(ErrCode::OutOfWindow),
            6 => Some(ErrCode::BadHarvest),
            _ => None,
        }
    }
}

/// Commands on the device's command port (for now: recall a line with a given snoop).
pub const CMD_OPCODES: [SnpOp; 3] = SnpOp::ALL;
