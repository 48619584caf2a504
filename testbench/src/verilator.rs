//! Project-written bridge to Verilator 5.x.
//!
//! The device is generated from a runtime config, so verilation happens at run
//! time: [`VerilatedDevice::build`] verilates the Verilog, compiles it together
//! with a C++ shim generated from the model's port table into `libdevice.so`,
//! caches that under a content hash and loads it with `dlopen`.
//!
//! Cache layout, `<cache_root>/<hash>/`:
//! - `libdevice.so`: the finished library; its presence is what "cached" means.
//! - `top.v`, `lw_shim.cpp`, `build.log`: inputs and log of the build.
//! - `build-<pid>-<n>/`: scratch dir of a build in progress; removed when the
//!   build ends, or by a later build once `<pid>` has died.
//!
//! plus `<cache_root>/runtime-<hash>/verilated*.o`: Verilator's runtime,
//! shared by every design compiled with the same command lines.
//!
//! Shim C ABI: `lw_new`, `lw_free`, `lw_cycle`, `lw_run`, plus
//! `lw_input_words`/`lw_output_words` to catch a library built for another table.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom, Write as _};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use anyhow::{anyhow, bail, Context, Result};
use linewatch_model::ports::{Port, INPUT_PORTS, INPUT_WORDS, OUTPUT_PORTS, OUTPUT_WORDS};

/// Bump when the build recipe changes in a way the hash would not see.
const RECIPE_VERSION: &str = "linewatch-verilator-bridge/1";

/// Make fragment layered on Verilator's own makefile so every object is built
/// with the exact flags and defines `verilated.mk` uses for the model.
/// `LW_RUNTIME` can point at already-compiled runtime objects (see `compile_in`).
const LW_MK: &str = "\
include Vtop.mk
LW_RUNTIME ?= $(VK_GLOBAL_OBJS)
LW_OBJS = lw_shim.o $(LW_RUNTIME) $(VM_PREFIX)__ALL.a
.PHONY: lw_objs lw_print_runtime
lw_objs: $(LW_OBJS)
lw_print_runtime:
\t@echo $(VK_GLOBAL_OBJS)
libdevice.so: $(LW_OBJS)
\t$(LINK) -shared -Wl,-Bsymbolic -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(LDLIBS)
";

const MAKE_OPTS: &[&str] = &["-j2", "OPT_FAST=-O2", "OPT_GLOBAL=-O2", "OPT_SLOW=-O1"];

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *mut c_char;
}
const RTLD_NOW: c_int = 2;
const RTLD_LOCAL: c_int = 0;

type NewFn = unsafe extern "C" fn() -> *mut c_void;
type FreeFn = unsafe extern "C" fn(*mut c_void);
type CycleFn = unsafe extern "C" fn(*mut c_void, *const u64, *mut u64);
type RunFn = unsafe extern "C" fn(*mut c_void, u64, *const u64, *mut u64);
type WordsFn = unsafe extern "C" fn() -> u64;

/// One instance of the Verilated device, clocked one cycle per call.
pub struct VerilatedDevice {
    model: *mut c_void,
    new_fn: NewFn,
    free_fn: FreeFn,
    cycle_fn: CycleFn,
    run_fn: RunFn,
    library: PathBuf,
    from_cache: bool,
}

// SAFETY: the model is owned exclusively by this value and only touched
// through `&mut self`; the shim re-points Verilator's thread-local context at
// this model's context on every call, so moving it between threads is fine.
unsafe impl Send for VerilatedDevice {}

impl VerilatedDevice {
    /// Verilate `verilog` (top module `top`, ports = the model's port table
    /// plus `input clock`) into `cache_root/<hash>/libdevice.so`, reusing a
    /// finished library, and instantiate it.
    ///
    /// `lint_waivers` are Verilator warning names (`"WIDTH"` -> `-Wno-WIDTH`);
    /// entries starting with `-` are passed through unchanged.
    pub fn build(verilog: &str, cache_root: &Path, lint_waivers: &[&str]) -> Result<Self> {
        // Serialise builds in this process: two cores, and concurrent callers
        // of the same design then hit the cache instead of building twice.
        static BUILD_LOCK: Mutex<()> = Mutex::new(());
        let _guard = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());

        let version = verilator_version()?;
        let shim = shim_source();
        let vargs = verilator_args(lint_waivers);
        let mut key = Fnv64::new();
        for part in [
            RECIPE_VERSION,
            &version,
            verilog,
            &port_table_text(),
            &shim,
            LW_MK,
        ] {
            key.field(part.as_bytes());
        }
        for arg in vargs
            .iter()
            .map(String::as_str)
            .chain(MAKE_OPTS.iter().copied())
        {
            key.field(arg.as_bytes());
        }
        let dir = cache_root.join(format!("{:016x}", key.finish()));
        let lib = dir.join("libdevice.so");
        let from_cache = lib.is_file();
        if !from_cache {
            if dir.to_string_lossy().contains(char::is_whitespace) {
                bail!(
                    "verilator bridge: cache dir {} contains whitespace, which Verilator's makefiles cannot handle",
                    dir.display()
                );
            }
            compile(&dir, verilog, &shim, &vargs)?;
        }
        let mut dev = load(&lib).map_err(|e| {
            anyhow!(
                "verilator bridge: step `load` failed for {}: {e:#}",
                lib.display()
            )
        })?;
        dev.from_cache = from_cache;
        Ok(dev)
    }

    /// One clock cycle: drive `inputs` (packed, [`INPUT_WORDS`]), return this
    /// cycle's outputs (before the rising edge) in `outputs` ([`OUTPUT_WORDS`]),
    /// then take the rising edge.
    pub fn cycle(&mut self, inputs: &[u64], outputs: &mut [u64]) {
        assert!(
            inputs.len() >= INPUT_WORDS,
            "inputs: {} words, need {INPUT_WORDS}",
            inputs.len()
        );
        assert!(
            outputs.len() >= OUTPUT_WORDS,
            "outputs: {} words, need {OUTPUT_WORDS}",
            outputs.len()
        );
        // SAFETY: buffers checked above; model is live until Drop.
        unsafe { (self.cycle_fn)(self.model, inputs.as_ptr(), outputs.as_mut_ptr()) }
    }

    /// `n` cycles in one call: input record `i` is `inputs[i*INPUT_WORDS..]`,
    /// output record `i` goes to `outputs[i*OUTPUT_WORDS..]`.
    pub fn run(&mut self, n: usize, inputs: &[u64], outputs: &mut [u64]) {
        let need_in = n.checked_mul(INPUT_WORDS).expect("cycle count overflows");
        let need_out = n.checked_mul(OUTPUT_WORDS).expect("cycle count overflows");
        assert!(
            inputs.len() >= need_in,
            "inputs: {} words, {n} cycles need {need_in}",
            inputs.len()
        );
        assert!(
            outputs.len() >= need_out,
            "outputs: {} words, {n} cycles need {need_out}",
            outputs.len()
        );
        // SAFETY: buffers checked above; model is live until Drop.
        unsafe { (self.run_fn)(self.model, n as u64, inputs.as_ptr(), outputs.as_mut_ptr()) }
    }

    /// Replace the model with a fresh instance (power-on state, `initial` blocks re-run).
    pub fn reset(&mut self) {
        // SAFETY: model came from new_fn of the same library and is freed once.
        unsafe {
            (self.free_fn)(self.model);
            self.model = (self.new_fn)();
        }
        assert!(!self.model.is_null(), "lw_new returned null");
    }

    /// Path of the loaded `libdevice.so`; its directory holds `build.log`.
    pub fn library_path(&self) -> &Path {
        &self.library
    }

    /// Whether [`Self::build`] found a finished library and skipped compiling.
    pub fn from_cache(&self) -> bool {
        self.from_cache
    }
}

impl Drop for VerilatedDevice {
    fn drop(&mut self) {
        // SAFETY: model is live and owned. The library itself stays loaded:
        // Verilator's runtime registers thread-local destructors, and
        // unloading code those still point into is not worth the few MB.
        unsafe { (self.free_fn)(self.model) }
    }
}

/// `verilator --version`, e.g. `Verilator 5.006 2023-01-22 rev (Debian 5.006-3)`.
pub fn verilator_version() -> Result<String> {
    static VERSION: OnceLock<String> = OnceLock::new();
    if let Some(v) = VERSION.get() {
        return Ok(v.clone());
    }
    let out = Command::new("verilator")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| anyhow!("verilator bridge: cannot run `verilator --version`: {e} (install it with ci/bootstrap.sh)"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || text.is_empty() {
        bail!(
            "verilator bridge: `verilator --version` failed ({})",
            out.status
        );
    }
    Ok(VERSION.get_or_init(|| text).clone())
}

fn verilator_args(lint_waivers: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--cc",
        "top.v",
        "--top-module",
        "top",
        "-O3",
        "--x-assign",
        "fast",
        "--x-initial",
        "fast",
        "--noassert",
        "-Wno-fatal",
        "--Mdir",
        "obj",
        "-CFLAGS",
        "-fPIC",
    ]
    .map(String::from)
    .to_vec();
    args.extend(lint_waivers.iter().map(|w| {
        if w.starts_with('-') {
            w.to_string()
        } else {
            format!("-Wno-{w}")
        }
    }));
    args
}

fn port_table_text() -> String {
    let mut s = String::new();
    for (dir, table) in [("in", INPUT_PORTS), ("out", OUTPUT_PORTS)] {
        for p in table {
            let _ = writeln!(s, "{dir} {} {}", p.name, p.width);
        }
    }
    s
}

/// FNV-1a 64: stable across Rust versions, unlike `DefaultHasher`.
struct Fnv64(u64);
impl Fnv64 {
    fn new() -> Self {
        Fnv64(0xcbf2_9ce4_8422_2325)
    }
    fn bytes(&mut self, b: &[u8]) {
        for &x in b {
            self.0 = (self.0 ^ x as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    /// Length-prefixed so field boundaries can't shift between inputs.
    fn field(&mut self, b: &[u8]) {
        self.bytes(&(b.len() as u64).to_le_bytes());
        self.bytes(b);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

fn mask_literal(bits: usize) -> String {
    format!("0x{:x}ULL", linewatch_model::ports::low_mask(bits))
}

fn scalar_type(width: usize) -> &'static str {
    match width {
        0..=8 => "CData",
        9..=16 => "SData",
        17..=32 => "IData",
        _ => "QData",
    }
}

/// C++ shim, generated from the port table so it cannot drift from it.
fn shim_source() -> String {
    let mut set = String::new();
    let mut at = 0;
    for p in INPUT_PORTS {
        let name = p.name;
        if p.width <= 64 {
            let mask = if p.width == 64 {
                String::new()
            } else {
                format!(" & {}", mask_literal(p.width))
            };
            let _ = writeln!(
                set,
                "    t->{name} = ({})(in[{at}]{mask});",
                scalar_type(p.width)
            );
        } else {
            let n32 = p.width.div_ceil(32);
            let _ = writeln!(set, "    {{ WData* w = t->{name}.data();");
            for i in 0..n32 {
                let _ = writeln!(
                    set,
                    "      w[{i}] = (EData)(in[{}] >> {});",
                    at + i / 2,
                    32 * (i % 2)
                );
            }
            if p.width % 32 != 0 {
                let _ = writeln!(
                    set,
                    "      w[{}] &= (EData){};",
                    n32 - 1,
                    mask_literal(p.width % 32)
                );
            }
            set.push_str("    }\n");
        }
        at += p.words();
    }
    let mut get = String::new();
    let mut at = 0;
    for p in OUTPUT_PORTS {
        let name = p.name;
        if p.width <= 64 {
            let mask = if p.width == 64 {
                String::new()
            } else {
                format!(" & {}", mask_literal(p.width))
            };
            let _ = writeln!(get, "    out[{at}] = (uint64_t)t->{name}{mask};");
        } else {
            let n32 = p.width.div_ceil(32);
            let _ = writeln!(get, "    {{ const WData* w = t->{name}.data();");
            for j in 0..p.words() {
                let hi = if 2 * j + 1 < n32 {
                    format!(" | (uint64_t)w[{}] << 32", 2 * j + 1)
                } else {
                    String::new()
                };
                let _ = writeln!(get, "      out[{}] = (uint64_t)w[{}]{hi};", at + j, 2 * j);
            }
            if p.width % 64 != 0 {
                let _ = writeln!(
                    get,
                    "      out[{}] &= {};",
                    at + p.words() - 1,
                    mask_literal(p.width % 64)
                );
            }
            get.push_str("    }\n");
        }
        at += p.words();
    }
    format!(
        r#"// Generated by linewatch-testbench from the model's port table. Do not edit.
#include "Vtop.h"
#include "verilated.h"
#include <cstdint>

namespace {{
struct Dev {{
  VerilatedContext* ctx;
  Vtop* top;
}};

inline void set_inputs(Vtop* t, const uint64_t* in) {{
{set}}}

inline void get_outputs(Vtop* t, uint64_t* out) {{
{get}}}

// Outputs are sampled with clock low (this cycle's values), then the rising edge.
inline void step(Dev* d, const uint64_t* in, uint64_t* out) {{
  Vtop* t = d->top;
  set_inputs(t, in);
  t->clock = 0;
  d->ctx->timeInc(1);
  t->eval();
  get_outputs(t, out);
  t->clock = 1;
  d->ctx->timeInc(1);
  t->eval();
}}
}}  // namespace

extern "C" {{
uint64_t lw_input_words() {{ return {INPUT_WORDS}; }}
uint64_t lw_output_words() {{ return {OUTPUT_WORDS}; }}

void* lw_new() {{
  Dev* d = new Dev;
  d->ctx = new VerilatedContext;
  d->top = new Vtop(d->ctx, "TOP");
  d->top->clock = 0;
  d->top->eval();  // runs initial blocks
  return d;
}}

void lw_free(void* p) {{
  Dev* d = static_cast<Dev*>(p);
  Verilated::threadContextp(d->ctx);
  d->top->final();
  delete d->top;
  delete d->ctx;
  delete d;
}}

void lw_cycle(void* p, const uint64_t* in, uint64_t* out) {{
  Dev* d = static_cast<Dev*>(p);
  Verilated::threadContextp(d->ctx);  // the caller may have moved us to another thread
  step(d, in, out);
}}

void lw_run(void* p, uint64_t n, const uint64_t* in, uint64_t* out) {{
  Dev* d = static_cast<Dev*>(p);
  Verilated::threadContextp(d->ctx);
  for (uint64_t i = 0; i < n; ++i) step(d, in + i * {INPUT_WORDS}, out + i * {OUTPUT_WORDS});
}}
}}
"#
    )
}

static SCRATCH_SEQ: AtomicU64 = AtomicU64::new(0);

fn compile(dir: &Path, verilog: &str, shim: &str, vargs: &[String]) -> Result<()> {
    fs::create_dir_all(dir)
        .with_context(|| {
            format!(
                "verilator bridge: cannot create cache dir {}",
                dir.display()
            )
        })
        .map_err(one_line)?;
    remove_dead_scratch(dir);
    let work = dir.join(format!(
        "build-{}-{}",
        std::process::id(),
        SCRATCH_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let final_log = dir.join("build.log");
    let runtime_root = dir.parent().unwrap_or(dir);
    let result = compile_in(&work, runtime_root, verilog, shim, vargs);
    // Keep the log beside the cache entry whatever happened; drop the scratch.
    let _ = fs::rename(work.join("build.log"), &final_log);
    let result = result.and_then(|()| {
        for f in ["top.v", "obj/lw_shim.cpp"] {
            let src = work.join(f);
            let _ = fs::rename(&src, dir.join(src.file_name().unwrap()));
        }
        // Last: the library's appearance marks the entry finished.
        fs::rename(work.join("obj/libdevice.so"), dir.join("libdevice.so")).map_err(|e| StepError {
            step: "install",
            detail: e.to_string(),
        })
    });
    let _ = fs::remove_dir_all(&work);
    result.map_err(|e| {
        anyhow!(
            "verilator bridge: step `{}` failed: {} (log: {})",
            e.step,
            e.detail,
            final_log.display()
        )
    })
}

struct StepError {
    step: &'static str,
    detail: String,
}

fn compile_in(
    work: &Path,
    runtime_root: &Path,
    verilog: &str,
    shim: &str,
    vargs: &[String],
) -> Result<(), StepError> {
    let io = |step: &'static str| {
        move |e: std::io::Error| StepError {
            step,
            detail: e.to_string(),
        }
    };
    let obj = work.join("obj");
    fs::create_dir_all(&obj).map_err(io("write sources"))?;
    let mut log = File::options()
        .create(true)
        .read(true)
        .append(true)
        .open(work.join("build.log"))
        .map_err(io("write sources"))?;
    fs::write(work.join("top.v"), verilog).map_err(io("write sources"))?;
    fs::write(obj.join("lw_shim.cpp"), shim).map_err(io("write sources"))?;
    fs::write(obj.join("lw.mk"), LW_MK).map_err(io("write sources"))?;

    let make = |extra: &[&str]| {
        let mut args = vec!["--no-print-directory", "-C", "obj", "-f", "lw.mk"];
        args.extend_from_slice(MAKE_OPTS);
        args.extend_from_slice(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    run_step(&mut log, work, "verilate", "verilator", vargs, false)?;

    // Verilator's runtime (verilated.o, ~75% of the compile time) depends only
    // on the compiler command line, so it is shared between designs under
    // `<cache_root>/runtime-<hash of those command lines>/`.
    let names = run_step(
        &mut log,
        work,
        "compile",
        "make",
        &make(&["-s", "lw_print_runtime"]),
        true,
    )?;
    let names: Vec<&str> = names.split_whitespace().collect();
    let mut dry = make(&["-n", "-B"]);
    dry.extend(names.iter().map(|n| n.to_string()));
    let cmds = run_step(&mut log, work, "compile", "make", &dry, true)?;
    let mut key = Fnv64::new();
    key.field(RECIPE_VERSION.as_bytes());
    key.field(cmds.as_bytes());
    let runtime_dir = runtime_root.join(format!("runtime-{:016x}", key.finish()));
    let shared: Vec<PathBuf> = names.iter().map(|n| runtime_dir.join(n)).collect();
    let reuse = !shared.is_empty() && shared.iter().all(|p| p.is_file());
    let mut extra = Vec::new();
    let runtime_var;
    if reuse {
        let list: Vec<String> = shared.iter().map(|p| p.display().to_string()).collect();
        runtime_var = format!("LW_RUNTIME={}", list.join(" "));
        extra.push(runtime_var.as_str());
    }
    extra.push("lw_objs");
    run_step(&mut log, work, "compile", "make", &make(&extra), false)?;
    *extra.last_mut().unwrap() = "libdevice.so";
    run_step(&mut log, work, "link", "make", &make(&extra), false)?;
    if !reuse {
        share_runtime(&obj, &runtime_dir, &names);
    }
    Ok(())
}

/// Best effort: publish freshly built runtime objects, each via temp + rename.
fn share_runtime(obj: &Path, runtime_dir: &Path, names: &[&str]) {
    if fs::create_dir_all(runtime_dir).is_err() {
        return;
    }
    for n in names {
        let tmp = runtime_dir.join(format!("{n}.tmp-{}", std::process::id()));
        if fs::copy(obj.join(n), &tmp).is_ok() {
            let _ = fs::rename(&tmp, runtime_dir.join(n));
        }
        let _ = fs::remove_file(&tmp);
    }
}

/// Run one step with stderr (and stdout unless `capture`) appended to the log.
/// Returns captured stdout, which is also logged.
fn run_step(
    log: &mut File,
    cwd: &Path,
    step: &'static str,
    prog: &str,
    args: &[String],
    capture: bool,
) -> Result<String, StepError> {
    let fail = |detail: String| StepError { step, detail };
    let start = log
        .seek(SeekFrom::End(0))
        .map_err(|e| fail(e.to_string()))?;
    let _ = writeln!(log, "== {step}: {prog} {}", args.join(" "));
    let t0 = Instant::now();
    let stdout = if capture {
        Stdio::piped()
    } else {
        log.try_clone().map_err(|e| fail(e.to_string()))?.into()
    };
    let out = Command::new(prog)
        .args(args)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(log.try_clone().map_err(|e| fail(e.to_string()))?)
        .output()
        .map_err(|e| fail(format!("cannot run `{prog}`: {e}")))?;
    let captured = String::from_utf8_lossy(&out.stdout).into_owned();
    let _ = log.write_all(captured.as_bytes());
    let _ = writeln!(
        log,
        "== {step}: {} after {:.1}s",
        out.status,
        t0.elapsed().as_secs_f64()
    );
    if out.status.success() {
        return Ok(captured);
    }
    let mut text = String::new();
    let _ = log.seek(SeekFrom::Start(start));
    let _ = log.read_to_string(&mut text);
    Err(fail(format!(
        "{prog} exited with {}: {}",
        out.status,
        first_error(&text)
    )))
}

/// The first line that looks like an error, squeezed onto one short line.
fn first_error(text: &str) -> String {
    let lines = text
        .lines()
        .filter(|l| !l.starts_with("== ") && !l.trim().is_empty());
    let line = lines
        .clone()
        .find(|l| l.contains("%Error") || l.to_ascii_lowercase().contains("error"))
        .or_else(|| lines.clone().next_back())
        .unwrap_or("no output")
        .trim();
    let mut s: String = line.chars().filter(|c| !c.is_control()).take(200).collect();
    if line.chars().count() > 200 {
        s.push('…');
    }
    s
}

fn one_line(e: anyhow::Error) -> anyhow::Error {
    anyhow!("{}", format!("{e:#}").replace(['\n', '\r'], " "))
}

/// Remove scratch dirs left by builds whose process is gone (killed builds).
fn remove_dead_scratch(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix("build-")) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !Path::new(&format!("/proc/{pid}")).exists() {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn load(lib: &Path) -> Result<VerilatedDevice> {
    let cpath = CString::new(lib.as_os_str().as_bytes())?;
    // SAFETY: plain libdl calls; every symbol's type is fixed by the shim we generate.
    unsafe {
        let handle = dlopen(cpath.as_ptr(), RTLD_NOW | RTLD_LOCAL);
        if handle.is_null() {
            bail!("dlopen: {}", last_dl_error());
        }
        let sym = |name: &str| -> Result<*mut c_void> {
            let cname = CString::new(name)?;
            let p = dlsym(handle, cname.as_ptr());
            if p.is_null() {
                bail!("dlsym {name}: {}", last_dl_error());
            }
            Ok(p)
        };
        let input_words: WordsFn = std::mem::transmute(sym("lw_input_words")?);
        let output_words: WordsFn = std::mem::transmute(sym("lw_output_words")?);
        let (iw, ow) = (input_words(), output_words());
        if (iw, ow) != (INPUT_WORDS as u64, OUTPUT_WORDS as u64) {
            bail!("library built for {iw}/{ow} packed words, port table has {INPUT_WORDS}/{OUTPUT_WORDS}");
        }
        let new_fn: NewFn = std::mem::transmute(sym("lw_new")?);
        let model = new_fn();
        if model.is_null() {
            bail!("lw_new returned null");
        }
        Ok(VerilatedDevice {
            model,
            new_fn,
            free_fn: std::mem::transmute::<*mut c_void, FreeFn>(sym("lw_free")?),
            cycle_fn: std::mem::transmute::<*mut c_void, CycleFn>(sym("lw_cycle")?),
            run_fn: std::mem::transmute::<*mut c_void, RunFn>(sym("lw_run")?),
            library: lib.to_path_buf(),
            from_cache: false,
        })
    }
}

fn last_dl_error() -> String {
    // SAFETY: dlerror returns null or a NUL-terminated thread-local string.
    unsafe {
        let e = dlerror();
        if e.is_null() {
            "unknown error".into()
        } else {
            CStr::from_ptr(e).to_string_lossy().replace('\n', " ")
        }
    }
}

/// Port declarations for a Verilog `top` with exactly the table's ports plus
/// `input clock`; registered outputs are `output reg` unless named `*_ready`
/// (the port contract makes those combinational). For test and stub designs.
pub fn port_declarations() -> String {
    let mut s = String::from("  input clock");
    let decl = |p: &Port, kind: &str| {
        let range = if p.width > 1 {
            format!("[{}:0] ", p.width - 1)
        } else {
            String::new()
        };
        format!(",\n  {kind} {range}{}", p.name)
    };
    for p in INPUT_PORTS {
        s += &decl(p, "input");
    }
    for p in OUTPUT_PORTS {
        s += &decl(
            p,
            if p.name.ends_with("_ready") {
                "output"
            } else {
                "output reg"
            },
        );
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_matches_reference_vectors() {
        let h = |s: &str| {
            let mut f = Fnv64::new();
            f.bytes(s.as_bytes());
            f.finish()
        };
        assert_eq!(h(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(h("a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(h("foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn shim_covers_every_port() {
        let shim = shim_source();
        for p in INPUT_PORTS.iter().chain(OUTPUT_PORTS) {
            assert!(
                shim.contains(&format!("t->{}", p.name)),
                "{} missing",
                p.name
            );
        }
        assert!(shim.contains(&format!("return {INPUT_WORDS};")));
    }

    #[test]
    fn scratch_of_dead_builds_is_removed() {
        let dir = std::env::temp_dir().join(format!("lw-scratch-test-{}", std::process::id()));
        let dead = dir.join("build-4000000000-0"); // above any pid_max
        let live = dir.join(format!("build-{}-0", std::process::id()));
        fs::create_dir_all(&dead).unwrap();
        fs::create_dir_all(&live).unwrap();
        remove_dead_scratch(&dir);
        assert!(!dead.exists() && live.exists());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn first_error_is_one_line() {
        let log = "== verilate: verilator x\n%Warning-WIDTH: foo\n%Error: top.v:3:1: syntax error\nmore\n";
        assert_eq!(first_error(log), "%Error: top.v:3:1: syntax error");
        assert_eq!(first_error("== x\n"), "no output");
    }
}
