//! `simulate_job`: a long job that reports progress and stops when cancelled, the example of
//! a [`ToolWithContext`].

use std::{sync::Arc, time::Duration};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{CallContext, Deps, Hints, Reply, ToolError, ToolSpec, ToolWithContext};

pub struct SimulateJob;

impl ToolWithContext for SimulateJob {
    const SPEC: ToolSpec = ToolSpec {
        name: "simulate_job",
        title: "Simulate a long job",
        description: "Runs a job of `steps` steps, `step_ms` milliseconds each, and reports \
                      progress after every step (MCP progress notifications, streamed over SSE \
                      when the client sends a progressToken).",
        summary: "a long job that reports progress",
        hints: Hints::LOCAL,
        iam_actions: &[],
        example: r#"{"steps": 2, "step_ms": 10}"#,
    };
    type Args = SimulateJobRequest;
    type Output = JobReport;

    async fn call(
        _: Arc<Deps>,
        req: SimulateJobRequest,
        context: CallContext,
    ) -> Result<Reply<JobReport>, ToolError> {
        check_job(&req)?;
        let started = std::time::Instant::now();
        let mut sent = 0;
        for step in 1..=req.steps {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(u64::from(req.step_ms))) => {}
                _ = context.cancelled.cancelled() => return Err(ToolError::Cancelled),
            }
            let message = format!("step {step} of {}", req.steps);
            if context.progress(step, Some(req.steps), message).await {
                sent += 1;
            }
        }
        let report = JobReport {
            steps_completed: req.steps,
            progress_notifications_sent: sent,
            elapsed_ms: started.elapsed().as_millis() as u64,
        };
        let summary = format!(
            "Job finished: {} steps in {} ms.",
            report.steps_completed, report.elapsed_ms
        );
        Ok(Reply::new(summary, report))
    }
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimulateJobRequest {
    /// Number of steps, 1 to 20.
    pub steps: u32,
    /// Milliseconds per step, 0 to 2000 (default 200).
    #[serde(default = "default_step_ms")]
    pub step_ms: u32,
}

fn default_step_ms() -> u32 {
    200
}

#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct JobReport {
    pub steps_completed: u32,
    pub progress_notifications_sent: u32,
    pub elapsed_ms: u64,
}

pub fn check_job(request: &SimulateJobRequest) -> Result<(), String> {
    if !(1..=20).contains(&request.steps) {
        return Err(format!(
            "`steps` must be between 1 and 20, got {}.",
            request.steps
        ));
    }
    if request.step_ms > 2000 {
        return Err(format!(
            "`step_ms` must be at most 2000, got {}.",
            request.step_ms
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_bounds_are_checked() {
        assert!(
            check_job(&SimulateJobRequest {
                steps: 0,
                step_ms: 1
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 21,
                step_ms: 1
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 3,
                step_ms: 2001
            })
            .is_err()
        );
        assert!(
            check_job(&SimulateJobRequest {
                steps: 20,
                step_ms: 2000
            })
            .is_ok()
        );
    }
}
