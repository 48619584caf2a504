//! Device configuration: parsed from TOML, checked once, then read by the model,
//! the RTL generator and the testbench alike.

use anyhow::{anyhow, bail, Result};
use serde::Deserialize;
use std::path::Path;

/// Structural limits of the generated hardware (type-level sizes in rtl/).
pub const MAX_SF_SETS: u64 = 4096;
pub const MAX_SF_WAYS: u64 = 4;
pub const MAX_SNOOP_SLOTS: u64 = 8;
pub const MAX_READ_QUEUE: u64 = 16;
pub const MAX_LEVELS: u64 = 3;
pub const MAX_WINDOW_LINES: u64 = 1 << 24;
pub const FANOUTS: [u64; 4] = [8, 16, 32, 64];

/// A whole configuration file.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub device: DeviceConfig,
    #[serde(default)]
    pub cosim: CosimConfig,
    #[serde(default)]
    pub fpga: FpgaConfig,
    #[serde(default)]
    pub host: HostConfig,
    /// `[remote]`: remote memory behind the host. Absent: every page is resident.
    #[serde(default)]
    pub remote: Option<RemoteConfig>,
}

/// `[remote]`: pages that start in remote memory and the link that fetches them.
/// Times are host cycles; the link is one server (fetches queue behind each other).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteConfig {
    /// Host cycles from the start of a page's transfer until it is usable locally
    /// (network round trip), on top of the transfer itself.
    pub latency: u64,
    /// Bytes per host cycle the remote link moves (4 = 12 GB/s at a 3 GHz host).
    pub bandwidth: f64,
    /// Fraction of data pages that start resident; the rest start remote.
    pub local_fraction: f64,
    /// Host cycles the OS's fault handler takes before it can start a fetch.
    pub fault_cycles: u64,
    /// Seed of which pages start remote.
    pub seed: u64,
    /// Pages mapped before the run: each page the trace touches brings its aligned
    /// group of `map_around` pages (a power of two, 1 to 512), standing in for the
    /// mapped but untouched memory around a program's working set. 1: only the
    /// touched pages are mapped, so every mapped page is used (the best case for
    /// any prefetcher that follows the page tables).
    pub map_around: u64,
    /// Memory hosts to fetch page contents from (`unix:PATH` or `tcp:HOST:PORT`,
    /// `linewatch memhost`); empty: contents are not moved, only timing is modelled.
    pub hosts: Vec<String>,
}

impl Default for RemoteConfig {
    fn default() -> Self {
        RemoteConfig {
            latency: 6000,
            bandwidth: 4.0,
            local_fraction: 0.25,
            fault_cycles: 3000,
            seed: 1,
            map_around: 1,
            hosts: Vec::new(),
        }
    }
}

impl RemoteConfig {
    /// Host cycles one 4 KiB page occupies the link.
    pub fn transfer_cycles(&self) -> u64 {
        (4096.0 / self.bandwidth).ceil() as u64
    }

    fn check(&self) -> Result<()> {
        range_in_key("remote.latency", self.latency, 0, 1_000_000_000)?;
        range_in_key("remote.fault_cycles", self.fault_cycles, 0, 1_000_000_000)?;
        if !(self.bandwidth.is_finite() && self.bandwidth >= 0.001 && self.bandwidth <= 4096.0) {
            bail!(
                "remote.bandwidth = {}: bytes per host cycle, from 0.001 to 4096",
                self.bandwidth
            );
        }
        if !(0.0..=1.0).contains(&self.local_fraction) {
            bail!(
                "remote.local_fraction = {}: a fraction, 0 to 1",
                self.local_fraction
            );
        }
        if !self.map_around.is_power_of_two() || self.map_around > 512 {
            bail!(
                "remote.map_around = {}: pages, a power of two from 1 to 512",
                self.map_around
            );
        }
        for h in &self.hosts {
            let ok = match h.split_once(':') {
                Some(("unix", path)) => !path.is_empty(),
                Some(("tcp", addr)) => addr
                    .rsplit_once(':')
                    .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok()),
                _ => false,
            };
            if !ok {
                bail!("remote.hosts: {h:?}: expected \"unix:PATH\" or \"tcp:HOST:PORT\"");
            }
        }
        Ok(())
    }
}

/// `[device]`: the parameters the hardware is generated for.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DeviceConfig {
    /// Byte address of the coherent window; a multiple of `window_size`.
    pub window_base: u64,
    /// Window size in bytes; a power of two.
    pub window_size: u64,
    /// Snoop-filter sets (power of two) and ways.
    pub sf_sets: u64,
    pub sf_ways: u64,
    /// Back-invalidate snoops that may be outstanding at once.
    pub snoop_slots: u64,
    /// Device-memory reads that may be outstanding at once.
    pub read_queue: u64,
    /// Dirty-bitmap levels (level 0 has a bit per line).
    pub bitmap_levels: u64,
    /// Bits per bitmap word; one bit of level k+1 summarises one word of level k.
    pub bitmap_fanout: u64,
    /// Also mark a line dirty when the host is granted ownership (A), not only on writeback.
    #[serde(default)]
    pub dirty_on_ownership: bool,
    /// Build the register agent (the register page, the event ring). `false` leaves
    /// the core alone behind the top's ports, for parts too small for the agent.
    #[serde(default = "default_true")]
    pub registers: bool,
    /// What the event ring does when it is full: `"drop"` (count the event in the
    /// events line and go on). `"stall"` is refused, see docs/registers.md.
    #[serde(default = "default_overflow")]
    pub event_overflow: String,
    /// The link's completion timeout in device cycles: the longest the host waits
    /// for a response before it declares the device dead (the page-table trigger's
    /// timer must stay below it).
    #[serde(default = "default_completion_timeout")]
    pub completion_timeout: u64,
    /// `[device.pt]`: the page-table prefetch trigger (absent: not built).
    #[serde(default)]
    pub pt: Option<PtConfig>,
}

/// `[device.pt]`: the page-table-line prefetch trigger (docs/microarchitecture.md).
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PtConfig {
    /// Page-table pages the registry holds.
    pub registry: u64,
    /// Fetches in flight at once.
    pub inflight: u64,
    /// Cycles a fetch may take before the trigger gives up on it and returns the
    /// PTE not present; below `completion_timeout`.
    pub timer: u64,
    /// Frames whose residency the device tracks: the window's last `frames` pages
    /// below the register page (where the OS puts pages fetched from remote memory).
    pub frames: u64,
}

fn default_completion_timeout() -> u64 {
    100_000
}

fn default_true() -> bool {
    true
}

fn default_overflow() -> String {
    "drop".into()
}

/// `[cosim]`: the protocol-obeying host agent that drives co-simulation.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CosimConfig {
    /// Distinct lines of the window the host touches (small pools make races likely).
    pub lines: u64,
    /// Percent of cycles the host offers a new request when it can.
    pub request_rate: u64,
    /// Percent of cycles each host-side ready (NDR, DRS, BISnp) is high.
    pub host_ready: u64,
    /// Percent of cycles the device memory accepts a request.
    pub mem_ready: u64,
    /// Device-memory read latency range in cycles.
    pub mem_latency_min: u64,
    pub mem_latency_max: u64,
    /// Host snoop-response delay range in cycles.
    pub snoop_delay_max: u64,
    /// Per-mille of cycles the software issues a recall command / a harvest step.
    pub recall_rate: u64,
    pub harvest_rate: u64,
    /// Per-mille of cycles the host injects a protocol violation the device must
    /// detect and survive (bad opcode, out-of-window address, stray BIRsp, bad harvest level).
    pub violation_rate: u64,
    /// Per-mille of the host's requests that go to the register page (polls,
    /// commands, doorbells; the register agent answers them).
    pub register_rate: u64,
}

impl Default for CosimConfig {
    fn default() -> Self {
        Self {
            lines: 512,
            request_rate: 90,
            host_ready: 85,
            mem_ready: 90,
            mem_latency_min: 2,
            mem_latency_max: 24,
            snoop_delay_max: 12,
            recall_rate: 4,
            harvest_rate: 20,
            violation_rate: 0,
            register_rate: 30,
        }
    }
}

/// `[fpga]`: what the FPGA flows (`linewatch synth`) constrain the design to.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct FpgaConfig {
    /// Target frequency of `clock` in MHz, handed to nextpnr as `--freq`.
    pub clock_mhz: u64,
}

impl Default for FpgaConfig {
    fn default() -> Self {
        Self { clock_mhz: 50 }
    }
}

impl FpgaConfig {
    fn check(&self) -> Result<()> {
        range_in_key("fpga.clock_mhz", self.clock_mhz, 1, 1000)
    }
}

/// One host cache level in `[host.l1]`, `[host.l2]`, `[host.llc]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CacheLevelConfig {
    /// Capacity in bytes: sets x ways x 64, with a power-of-two number of sets.
    pub size: u64,
    pub ways: u64,
    /// Hit latency in host cycles, added to the levels above.
    pub latency: u64,
    /// `"lru"` (default), `"fifo"` or `"random"` (seeded by `host.seed`).
    #[serde(default = "lru")]
    pub replacement: String,
}

fn lru() -> String {
    "lru".into()
}

/// `[host.tlb]`: each core's data TLB (4 KiB pages).
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TlbConfig {
    pub entries: u64,
    pub ways: u64,
}

/// `[host]`: the simulated host that `linewatch sim` runs traces on.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct HostConfig {
    /// Cores, each with private L1 and L2 (one trace per core).
    pub cores: u64,
    pub l1: CacheLevelConfig,
    pub l2: CacheLevelConfig,
    pub llc: CacheLevelConfig,
    pub tlb: TlbConfig,
    /// `"exclusive"`: a load miss asks for ownership (MemRdData, the usual CPU
    /// behaviour); `"shared"`: it asks for S (MemRd S) and a later store upgrades.
    pub read_grant: String,
    /// Host cycles per device cycle.
    pub clock_ratio: u64,
    /// Device-memory read latency in device cycles (the DRAM behind the device).
    pub device_mem_latency: u64,
    /// Bytes of host-local DRAM; first touches fill it before the window. 0: every
    /// page is homed on the device.
    pub local_dram: u64,
    /// The page walker sets a PTE's dirty bit on the first store (a write to a
    /// page-table line, as x86 does).
    pub set_dirty_bits: bool,
    /// Seed of every random choice in the host (random replacement).
    pub seed: u64,
}

impl Default for HostConfig {
    /// A generic server part: 32 KiB/8-way L1, 1 MiB/16-way L2, 8 MiB/16-way LLC.
    fn default() -> Self {
        HostConfig {
            cores: 1,
            l1: CacheLevelConfig {
                size: 32 << 10,
                ways: 8,
                latency: 4,
                replacement: lru(),
            },
            l2: CacheLevelConfig {
                size: 1 << 20,
                ways: 16,
                latency: 14,
                replacement: lru(),
            },
            llc: CacheLevelConfig {
                size: 8 << 20,
                ways: 16,
                latency: 40,
                replacement: lru(),
            },
            tlb: TlbConfig {
                entries: 64,
                ways: 4,
            },
            read_grant: "exclusive".into(),
            clock_ratio: 2,
            device_mem_latency: 40,
            local_dram: 0,
            set_dirty_bits: true,
            seed: 1,
        }
    }
}

impl HostConfig {
    fn check(&self, device: &DeviceConfig) -> Result<()> {
        range_in_key("host.cores", self.cores, 1, 64)?;
        for (name, c) in [("l1", &self.l1), ("l2", &self.l2), ("llc", &self.llc)] {
            range_in_key(&format!("host.{name}.ways"), c.ways, 1, 64)?;
            let line = crate::protocol::LINE_BYTES;
            let sets = c.size / (c.ways * line);
            if c.size == 0 || sets * c.ways * line != c.size || !sets.is_power_of_two() {
                bail!(
                    "host.{name}.size = {}: must be ways x 64 bytes x a power-of-two number of sets",
                    c.size
                );
            }
            range_in_key(&format!("host.{name}.latency"), c.latency, 0, 10_000)?;
            if !matches!(c.replacement.as_str(), "lru" | "fifo" | "random") {
                bail!(
                    "host.{name}.replacement = \"{}\": must be \"lru\", \"fifo\" or \"random\"",
                    c.replacement
                );
            }
        }
        if self.l1.size > self.l2.size || self.l2.size > self.llc.size {
            bail!("host.l2.size: each level must be at least as large as the one above (the hierarchy is inclusive)");
        }
        range_in_key("host.tlb.ways", self.tlb.ways, 1, 64)?;
        if self.tlb.entries == 0
            || !self.tlb.entries.is_multiple_of(self.tlb.ways)
            || !(self.tlb.entries / self.tlb.ways).is_power_of_two()
        {
            bail!(
                "host.tlb.entries = {}: must be ways x a power-of-two number of sets",
                self.tlb.entries
            );
        }
        if !matches!(self.read_grant.as_str(), "exclusive" | "shared") {
            bail!(
                "host.read_grant = \"{}\": must be \"exclusive\" or \"shared\"",
                self.read_grant
            );
        }
        range_in_key("host.clock_ratio", self.clock_ratio, 1, 64)?;
        range_in_key(
            "host.device_mem_latency",
            self.device_mem_latency,
            1,
            10_000,
        )?;
        if !self.local_dram.is_multiple_of(4096) {
            bail!(
                "host.local_dram = {}: must be a multiple of the 4 KiB page",
                self.local_dram
            );
        }
        if self.local_dram > device.window_base {
            bail!(
                "host.local_dram = {:#x}: local DRAM [0, local_dram) overlaps the window at {:#x}",
                self.local_dram,
                device.window_base
            );
        }
        Ok(())
    }
}

/// Values derived from a checked [`DeviceConfig`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub window_base_line: u64,
    pub window_lines: u64,
    pub window_mask: u64,
    pub sf_sets: u64,
    pub sf_ways: u64,
    pub snoop_slots: u64,
    pub read_queue: u64,
    pub levels: u64,
    pub fanout: u64,
    pub fanout_log2: u32,
    pub dirty_on_ownership: bool,
    pub registers: bool,
    pub completion_timeout: u64,
    /// The page-table trigger's parameters, when it is built.
    pub pt: Option<crate::device::pt_trigger::PtParams>,
}

impl Geometry {
    /// Words in bitmap level `k` (at least one).
    pub fn level_words(&self, k: u64) -> u64 {
        (self.window_lines >> (self.fanout_log2 as u64 * (k + 1))).max(1)
    }
    /// Bits of a word index at level `k`.
    pub fn level_index_bits(&self, k: u64) -> u32 {
        self.level_words(k).trailing_zeros()
    }
}

fn pow2_in(name: &str, v: u64, lo: u64, hi: u64) -> Result<()> {
    if !v.is_power_of_two() || v < lo || v > hi {
        bail!("device.{name} = {v}: must be a power of two from {lo} to {hi}");
    }
    Ok(())
}

fn range_in(name: &str, v: u64, lo: u64, hi: u64) -> Result<()> {
    range_in_key(&format!("device.{name}"), v, lo, hi)
}

fn range_in_key(key: &str, v: u64, lo: u64, hi: u64) -> Result<()> {
    if v < lo || v > hi {
        bail!("{key} = {v}: must be from {lo} to {hi}");
    }
    Ok(())
}

impl DeviceConfig {
    /// Check every parameter and every combination; the error names the key.
    pub fn geometry(&self) -> Result<Geometry> {
        let line = crate::protocol::LINE_BYTES;
        match self.event_overflow.as_str() {
            "drop" => {}
            "stall" => bail!(
                "device.event_overflow = \"stall\": not supported: a request held back for a full ring would block, on the same channel, the driver's read of the events line and its consumer-index write that free the ring; use \"drop\""
            ),
            v => bail!("device.event_overflow = {v:?}: must be \"drop\" (or \"stall\", not supported yet)"),
        }
        pow2_in(
            "window_size",
            self.window_size,
            line * 128,
            line * MAX_WINDOW_LINES,
        )?;
        if !self.window_base.is_multiple_of(self.window_size) {
            bail!(
                "device.window_base = {:#x}: must be a multiple of window_size ({:#x})",
                self.window_base,
                self.window_size
            );
        }
        if self
            .window_base
            .checked_add(self.window_size)
            .is_none_or(|end| end > 1u64 << 52)
        {
            bail!(
                "device.window_base = {:#x}: window must end below 2^52",
                self.window_base
            );
        }
        pow2_in("sf_sets", self.sf_sets, 1, MAX_SF_SETS)?;
        range_in("sf_ways", self.sf_ways, 1, MAX_SF_WAYS)?;
        range_in("snoop_slots", self.snoop_slots, 1, MAX_SNOOP_SLOTS)?;
        range_in("read_queue", self.read_queue, 1, MAX_READ_QUEUE)?;
        range_in("bitmap_levels", self.bitmap_levels, 2, MAX_LEVELS)?;
        if !FANOUTS.contains(&self.bitmap_fanout) {
            bail!(
                "device.bitmap_fanout = {}: must be one of 8, 16, 32, 64",
                self.bitmap_fanout
            );
        }
        let lines = self.window_size / line;
        let cover = self.bitmap_fanout.pow(self.bitmap_levels as u32);
        if lines < cover {
            bail!(
                "device.bitmap_levels = {}: {} levels of fan-out {} cover {} lines but the window has only {}; use fewer levels or a smaller fan-out",
                self.bitmap_levels, self.bitmap_levels, self.bitmap_fanout, cover, lines
            );
        }
        range_in("completion_timeout", self.completion_timeout, 2, 1 << 32)?;
        let pages = self.window_size >> 12;
        let pt = match &self.pt {
            None => None,
            Some(p) => {
                use crate::device::pt_trigger::{
                    PtParams, MAX_PT_INFLIGHT, MAX_PT_REGISTRY, MAX_PT_WINDOW_FRAMES,
                };
                if !self.registers {
                    bail!("device.pt: the trigger is set up through the register agent; needs device.registers = true");
                }
                range_in_key("device.pt.registry", p.registry, 1, MAX_PT_REGISTRY as u64)?;
                range_in_key("device.pt.inflight", p.inflight, 1, MAX_PT_INFLIGHT as u64)?;
                let hi = MAX_PT_WINDOW_FRAMES.min(pages.saturating_sub(2));
                if hi == 0 {
                    bail!("device.pt.frames: the window has no page outside the register page and the root table");
                }
                range_in_key("device.pt.frames", p.frames, 1, hi)?;
                let params = PtParams {
                    registry: p.registry as usize,
                    inflight: p.inflight as usize,
                    timer: p.timer,
                    window_base: crate::regmap::pt_first_frame(
                        self.window_base / line,
                        lines,
                        p.frames,
                    ),
                    window_frames: p.frames,
                };
                params.check(self.completion_timeout).map_err(|e| {
                    anyhow!(
                        "device.pt.timer = {}: {}",
                        p.timer,
                        e.trim_start_matches("pt trigger: ")
                    )
                })?;
                Some(params)
            }
        };
        Ok(Geometry {
            window_base_line: self.window_base / line,
            window_lines: lines,
            window_mask: lines - 1,
            sf_sets: self.sf_sets,
            sf_ways: self.sf_ways,
            snoop_slots: self.snoop_slots,
            read_queue: self.read_queue,
            levels: self.bitmap_levels,
            fanout: self.bitmap_fanout,
            fanout_log2: self.bitmap_fanout.trailing_zeros(),
            dirty_on_ownership: self.dirty_on_ownership,
            registers: self.registers,
            completion_timeout: self.completion_timeout,
            pt,
        })
    }
}

impl CosimConfig {
    fn check(&self) -> Result<()> {
        let pct = |name: &str, v: u64| -> Result<()> {
            if v > 100 {
                bail!("cosim.{name} = {v}: a percentage, 0 to 100");
            }
            Ok(())
        };
        pct("request_rate", self.request_rate)?;
        pct("host_ready", self.host_ready)?;
        pct("mem_ready", self.mem_ready)?;
        if self.host_ready == 0 || self.mem_ready == 0 {
            bail!(
                "cosim.host_ready and cosim.mem_ready must be above 0, or nothing ever completes"
            );
        }
        if self.lines == 0 {
            bail!("cosim.lines = 0: the host needs at least one line");
        }
        if self.mem_latency_min == 0 || self.mem_latency_min > self.mem_latency_max {
            bail!(
                "cosim.mem_latency_min = {}: must be at least 1 and at most mem_latency_max ({})",
                self.mem_latency_min,
                self.mem_latency_max
            );
        }
        if self.recall_rate > 1000
            || self.harvest_rate > 1000
            || self.violation_rate > 1000
            || self.register_rate > 1000
        {
            bail!("cosim.recall_rate, harvest_rate, violation_rate and register_rate are per-mille, 0 to 1000");
        }
        Ok(())
    }
}

/// `section.key: ` of a `key = value` line `n` (1-based) of `text`, for errors
/// whose message gives only the value's type.
fn key_at(text: &str, n: usize) -> Option<String> {
    let mut section = String::new();
    for l in text.lines().take(n - 1) {
        let t = l.trim();
        if t.starts_with('[') {
            section = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
        }
    }
    let (k, _) = text.lines().nth(n - 1)?.split_once('=')?;
    let k = k.trim();
    if k.is_empty() || k.contains(['[', '"', '#']) {
        return None;
    }
    Some(if section.is_empty() {
        format!("{k}: ")
    } else {
        format!("{section}.{k}: ")
    })
}

impl Config {
    /// Parse and check TOML text; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config> {
        let cfg: Config = toml::from_str(text).map_err(|e| {
            let n = e
                .span()
                .map(|s| text[..s.start.min(text.len())].lines().count().max(1));
            let line = n.map(|l| format!(":{l}")).unwrap_or_default();
            let key = n.and_then(|l| key_at(text, l)).unwrap_or_default();
            anyhow!("{origin}{line}: {key}{}", e.message().replace('\n', " "))
        })?;
        let checked = cfg.device.geometry().and_then(|_| {
            cfg.cosim.check()?;
            cfg.fpga.check()?;
            cfg.host.check(&cfg.device)?;
            if let Some(r) = &cfg.remote {
                r.check()?;
            }
            if cfg.cosim.lines
                > cfg.device.window_size / crate::protocol::LINE_BYTES
                    - crate::device::regs::PAGE_LINES
            {
                bail!(
                    "cosim.lines = {}: more lines than the window holds outside its register page",
                    cfg.cosim.lines
                );
            }
            Ok(())
        });
        checked.map_err(|e| anyhow!("{origin}: {e}"))?;
        Ok(cfg)
    }

    /// Read and check a configuration file.
    pub fn load(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow!("{}: cannot read: {e}", path.display()))?;
        Config::parse(&text, &path.display().to_string())
    }

    pub fn geometry(&self) -> Geometry {
        self.device.geometry().expect("checked at load")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "[device]\nwindow_base = 0x40000000\nwindow_size = 0x100000\nsf_sets = 64\nsf_ways = 4\nsnoop_slots = 4\nread_queue = 8\nbitmap_levels = 2\nbitmap_fanout = 32\n";

    #[test]
    fn good_config_parses() {
        let c = Config::parse(GOOD, "t.toml").unwrap();
        let g = c.geometry();
        assert_eq!(g.window_lines, 16384);
        assert_eq!(g.level_words(0), 512);
        assert_eq!(g.level_words(1), 16);
    }

    #[test]
    fn event_overflow_takes_drop_and_refuses_the_rest_in_one_line() {
        let ok = format!("{GOOD}event_overflow = \"drop\"\n");
        assert!(Config::parse(&ok, "t.toml").is_ok());
        for (v, want) in [("stall", "not supported"), ("spill", "must be")] {
            let text = format!("{GOOD}event_overflow = \"{v}\"\n");
            let e = Config::parse(&text, "t.toml").unwrap_err().to_string();
            assert!(e.starts_with("t.toml: device.event_overflow"), "{e}");
            assert!(e.contains(want) && !e.contains('\n'), "{e}");
        }
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = format!("{GOOD}sf_sizes = 3\n");
        let e = Config::parse(&text, "t.toml").unwrap_err().to_string();
        assert!(e.starts_with("t.toml:"), "{e}");
        assert!(e.contains("sf_sizes"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn impossible_combinations_name_the_key() {
        for (from, to, key) in [
            ("sf_sets = 64", "sf_sets = 100", "device.sf_sets"),
            ("sf_ways = 4", "sf_ways = 5", "device.sf_ways"),
            (
                "bitmap_fanout = 32",
                "bitmap_fanout = 12",
                "device.bitmap_fanout",
            ),
            (
                "window_base = 0x40000000",
                "window_base = 0x40001000",
                "device.window_base",
            ),
            (
                "bitmap_levels = 2",
                "bitmap_levels = 3",
                "device.bitmap_levels",
            ),
        ] {
            let e = Config::parse(&GOOD.replace(from, to), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.contains(key), "{to}: {e}");
            assert!(e.starts_with("t.toml: "), "{e}");
        }
    }

    #[test]
    fn fpga_section_defaults_and_bad_clock_names_the_key() {
        assert_eq!(Config::parse(GOOD, "t.toml").unwrap().fpga.clock_mhz, 50);
        let ok = Config::parse(&format!("{GOOD}[fpga]\nclock_mhz = 150\n"), "t.toml").unwrap();
        assert_eq!(ok.fpga.clock_mhz, 150);
        for bad in ["clock_mhz = 0", "clock_mhz = 5000"] {
            let e = Config::parse(&format!("{GOOD}[fpga]\n{bad}\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("t.toml: fpga.clock_mhz = "), "{e}");
            assert!(!e.contains('\n'));
        }
        let e = Config::parse(&format!("{GOOD}[fpga]\nclock = 50\n"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("clock"), "{e}");
    }

    #[test]
    fn host_section_defaults_and_bad_values_name_the_key() {
        let c = Config::parse(GOOD, "t.toml").unwrap();
        assert_eq!(c.host, HostConfig::default());
        let ok = Config::parse(
            &format!("{GOOD}[host]\ncores = 4\n[host.l1]\nsize = 16384\nways = 4\nlatency = 3\n"),
            "t.toml",
        )
        .unwrap();
        assert_eq!((ok.host.cores, ok.host.l1.size), (4, 16384));
        for (bad, key) in [
            ("[host]\ncores = 0", "host.cores"),
            ("[host]\nread_grant = \"maybe\"", "host.read_grant"),
            ("[host]\nlocal_dram = 4097", "host.local_dram"),
            (
                "[host.llc]\nsize = 8388608\nways = 16\nlatency = 40\nreplacement = \"mru\"",
                "host.llc.replacement",
            ),
            ("[host]\nlocal_dram = 0x80000000", "host.local_dram"),
            ("[host.tlb]\nentries = 48\nways = 4", "host.tlb.entries"),
            (
                "[host.l1]\nsize = 3000\nways = 8\nlatency = 4",
                "host.l1.size",
            ),
            (
                "[host.l2]\nsize = 16384\nways = 4\nlatency = 4",
                "host.l2.size",
            ),
        ] {
            let e = Config::parse(&format!("{GOOD}{bad}\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with(&format!("t.toml: {key}")), "{bad}: {e}");
            assert!(!e.contains('\n'));
        }
        let e = Config::parse(&format!("{GOOD}[host]\nl3 = 1\n"), "t.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("l3"), "{e}");
    }

    #[test]
    fn remote_section_is_optional_and_bad_values_name_the_key() {
        assert_eq!(Config::parse(GOOD, "t.toml").unwrap().remote, None);
        let c =
            Config::parse(&format!("{GOOD}[remote]\nlocal_fraction = 0.5\n"), "t.toml").unwrap();
        let r = c.remote.unwrap();
        assert_eq!(r.local_fraction, 0.5);
        assert_eq!(r.latency, RemoteConfig::default().latency);
        assert_eq!(r.transfer_cycles(), 1024);
        for (bad, key) in [
            ("latency = -1", "remote.latency"),
            ("latency = 2000000000", "remote.latency"),
            ("fault_cycles = 2000000000", "remote.fault_cycles"),
            ("bandwidth = 0.0", "remote.bandwidth"),
            ("bandwidth = nan", "remote.bandwidth"),
            ("local_fraction = 1.5", "remote.local_fraction"),
            ("local_fraction = -0.1", "remote.local_fraction"),
            ("map_around = 3", "remote.map_around"),
            ("map_around = 1024", "remote.map_around"),
            ("hosts = [\"nfs:x\"]", "remote.hosts"),
            ("hosts = [\"tcp:localhost\"]", "remote.hosts"),
            ("seed = \"x\"", "remote.seed"),
            ("latncy = 5", "latncy"),
        ] {
            let e = Config::parse(&format!("{GOOD}[remote]\n{bad}\n"), "t.toml")
                .unwrap_err()
                .to_string();
            assert!(e.starts_with("t.toml"), "{bad}: {e}");
            assert!(e.contains(key), "{bad}: {e}");
            assert!(!e.contains('\n'), "{bad}: {e}");
        }
    }

    #[test]
    fn malformed_toml_is_one_line() {
        let e = Config::parse("[device\nx=", "bad.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("bad.toml:1:"), "{e}");
        assert!(!e.contains('\n'));
    }
}
