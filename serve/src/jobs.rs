//! The server's background jobs (advanced tuning, started by [`crate::tune`]): their state,
//! progress events and results, kept in memory for the page to poll.

use std::sync::Mutex;

use serde::Serialize;

/// Events kept per job (the latest ones).
const MAX_EVENTS: usize = 200;

/// A tuning job's state.
#[derive(Debug, Clone, Serialize)]
pub struct Job {
    /// Job number (1, 2, ...).
    pub id: usize,
    /// The model tuned.
    pub model: String,
    /// The settings, `name=value`.
    pub settings: Vec<String>,
    /// `running`, `done` or `failed`.
    pub status: &'static str,
    /// The engine's progress events.
    pub events: Vec<serde_json::Value>,
    /// New leaderboard rows, when done.
    pub new_models: Vec<String>,
    /// Why it failed.
    pub error: Option<String>,
}

/// Every job of this server.
#[derive(Default)]
pub struct Jobs {
    list: Mutex<Vec<Job>>,
}

impl Jobs {
    /// Adds `job` when no job is running (checked and added under one lock, so that two
    /// requests at once cannot both start one); `None` otherwise.
    pub fn push_if_idle(&self, mut job: Job) -> Option<Job> {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if list.iter().any(|j| j.status == "running") {
            return None;
        }
        job.id = list.len() + 1;
        list.push(job.clone());
        Some(job)
    }

    /// Adds a progress event to job `id`.
    pub fn event(&self, id: usize, v: serde_json::Value) {
        self.update(id, |j| {
            j.events.push(v);
            if j.events.len() > MAX_EVENTS {
                j.events.remove(0);
            }
        });
    }

    /// Changes job `id`.
    pub fn update(&self, id: usize, f: impl FnOnce(&mut Job)) {
        let mut list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(j) = list.iter_mut().find(|j| j.id == id) {
            f(j);
        }
    }

    /// A copy of every job, latest first.
    pub fn snapshot(&self) -> Vec<Job> {
        let list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().rev().cloned().collect()
    }

    /// Whether a job is running.
    pub fn running(&self) -> bool {
        let list = self.list.lock().unwrap_or_else(|e| e.into_inner());
        list.iter().any(|j| j.status == "running")
    }
}
