//! A small Chrome DevTools Protocol client over `--remote-debugging-pipe` (file descriptors 3
//! and 4 of the browser; messages are JSON ended by a NUL byte): enough to open a page, evaluate
//! JavaScript, move and click the mouse, turn the wheel and set a file input.

use std::io::{BufRead, BufReader, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Debian's `chromium` (or another Chromium) on `PATH`.
pub fn find_chromium() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser", "google-chrome"] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// The browser, or `None` with a note when it is missing (a failure when
/// `AUTOPILOT_REQUIRE_CHROMIUM=1`, as CI sets it).
pub fn browser() -> Option<Browser> {
    let Some(bin) = find_chromium() else {
        autopilot_testkit::missing(
            "CHROMIUM",
            "no chromium on PATH; the web app is not checked in a browser",
        );
        return None;
    };
    Some(Browser::launch(&bin))
}

/// A headless browser driven over the DevTools pipe.
pub struct Browser {
    child: Child,
    to: std::io::PipeWriter,
    from: mpsc::Receiver<Value>,
    next_id: u64,
    _profile: tempfile::TempDir,
}

/// How long one command may take.
const LIMIT: Duration = Duration::from_secs(120);

impl Browser {
    fn launch(bin: &Path) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let (cmd_r, cmd_w) = std::io::pipe().unwrap();
        let (resp_r, resp_w) = std::io::pipe().unwrap();
        let (in_fd, out_fd) = (cmd_r.as_raw_fd(), resp_w.as_raw_fd());
        let mut c = Command::new(bin);
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-pipe",
            "--window-size=1400,1000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("about:blank")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        // SAFETY: only async-signal-safe dup2 calls between fork and exec.
        unsafe {
            c.pre_exec(move || {
                // Out of the way first: either pipe may already sit on 3 or 4.
                let a = libc::fcntl(in_fd, libc::F_DUPFD, 10);
                let b = libc::fcntl(out_fd, libc::F_DUPFD, 10);
                if a < 0 || b < 0 || libc::dup2(a, 3) < 0 || libc::dup2(b, 4) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = c.spawn().expect("starting chromium");
        drop(cmd_r);
        drop(resp_w);
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(resp_r);
            loop {
                let mut buf = Vec::new();
                match r.read_until(0, &mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {
                        buf.pop();
                        if let Ok(v) = serde_json::from_slice::<Value>(&buf)
                            && tx.send(v).is_err()
                        {
                            return;
                        }
                    }
                }
            }
        });
        Browser {
            child,
            to: cmd_w,
            from: rx,
            next_id: 1,
            _profile: profile,
        }
    }

    /// Sends `method` (to `session`, or the browser) and waits for its result.
    pub fn call(&mut self, session: Option<&str>, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let mut msg = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            msg["sessionId"] = s.into();
        }
        let mut bytes = serde_json::to_vec(&msg).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).expect("writing to chromium");
        let start = Instant::now();
        loop {
            let left = LIMIT.saturating_sub(start.elapsed());
            let v = self
                .from
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("chromium did not answer {method} within {LIMIT:?}"));
            if v["id"].as_u64() == Some(id) {
                if let Some(e) = v.get("error") {
                    panic!("{method} failed: {e}");
                }
                return v["result"].clone();
            }
        }
    }

    /// Opens `url` in a new tab.
    pub fn open(&mut self, url: &str) -> Page<'_> {
        let t = self.call(None, "Target.createTarget", json!({ "url": "about:blank" }));
        let target = t["targetId"].as_str().unwrap().to_string();
        let a = self.call(
            None,
            "Target.attachToTarget",
            json!({ "targetId": target, "flatten": true }),
        );
        let session = a["sessionId"].as_str().unwrap().to_string();
        let mut p = Page { b: self, session };
        p.cmd(
            "Emulation.setDeviceMetricsOverride",
            json!({ "width": 1400, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
        );
        p.cmd("Page.navigate", json!({ "url": url }));
        p
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One tab.
pub struct Page<'b> {
    b: &'b mut Browser,
    session: String,
}

impl Page<'_> {
    /// A command to this tab.
    pub fn cmd(&mut self, method: &str, params: Value) -> Value {
        let s = self.session.clone();
        self.b.call(Some(&s), method, params)
    }

    /// Evaluates `js` (awaiting a promise) and returns its value.
    pub fn eval(&mut self, js: &str) -> Value {
        let r = self.cmd(
            "Runtime.evaluate",
            json!({ "expression": js, "awaitPromise": true, "returnByValue": true }),
        );
        if let Some(e) = r.get("exceptionDetails") {
            panic!("{js}: {e}");
        }
        r["result"]["value"].clone()
    }

    /// Waits until `js` is truthy; its value.
    pub fn wait_for(&mut self, js: &str, what: &str) -> Value {
        let start = Instant::now();
        loop {
            let r = self.cmd(
                "Runtime.evaluate",
                json!({ "expression": js, "returnByValue": true }),
            );
            let v = r["result"]["value"].clone();
            let truthy = !(v.is_null()
                || v == Value::Bool(false)
                || v == json!(0)
                || v == json!("")
                || r.get("exceptionDetails").is_some());
            if truthy {
                return v;
            }
            if start.elapsed() > Duration::from_secs(300) {
                let err = self.eval("document.querySelector('#error')?.textContent || ''");
                panic!("timed out waiting for {what} ({js}); page error: {err}");
            }
            std::thread::sleep(Duration::from_millis(150));
        }
    }

    /// The page centre of the element `selector` (scrolled into view).
    pub fn centre(&mut self, selector: &str) -> (f64, f64) {
        let v = self.eval(&format!(
            "(() => {{ const e = document.querySelector({sel}); e.scrollIntoView({{block: 'center'}}); const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2]; }})()",
            sel = serde_json::to_string(selector).unwrap()
        ));
        (v[0].as_f64().unwrap(), v[1].as_f64().unwrap())
    }

    /// Moves the mouse to (x, y).
    pub fn mouse_move(&mut self, x: f64, y: f64) {
        self.cmd(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseMoved", "x": x, "y": y }),
        );
    }

    /// A left click at (x, y).
    pub fn click_at(&mut self, x: f64, y: f64) {
        for t in ["mousePressed", "mouseReleased"] {
            self.cmd(
                "Input.dispatchMouseEvent",
                json!({ "type": t, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            );
        }
    }

    /// A real mouse click on the element `selector`.
    pub fn click(&mut self, selector: &str) {
        let (x, y) = self.centre(selector);
        self.click_at(x, y);
    }

    /// Turns the wheel at (x, y) (`dy` < 0: zoom in).
    pub fn wheel(&mut self, x: f64, y: f64, dy: f64) {
        self.cmd(
            "Input.dispatchMouseEvent",
            json!({ "type": "mouseWheel", "x": x, "y": y, "deltaX": 0, "deltaY": dy }),
        );
    }

    /// Puts `files` into the file input `selector`.
    pub fn set_files(&mut self, selector: &str, files: &[&Path]) {
        let r = self.cmd(
            "Runtime.evaluate",
            json!({ "expression": format!("document.querySelector({})", serde_json::to_string(selector).unwrap()) }),
        );
        let object = r["result"]["objectId"]
            .as_str()
            .expect("the file input")
            .to_string();
        let files: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
        self.cmd(
            "DOM.setFileInputFiles",
            json!({ "files": files, "objectId": object }),
        );
    }
}
