//! The benchmark's report: every figure typed and present (a figure that could not be
//! measured stops the run with an error instead of becoming NaN), written as JSON and rendered
//! as the Markdown table in bench/results/.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Lambda prices used for the cost estimate (us-east-1, x86_64, as published by AWS in 2026).
pub const PRICE_PER_GB_SECOND: f64 = 0.000_016_666_7;
pub const PRICE_PER_MILLION_REQUESTS: f64 = 0.20;
/// Concurrent connections of the local load (wrk -c).
pub const CONCURRENCY: u32 = 32;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    pub machine: Machine,
    pub samples: Samples,
    pub lambda: LambdaSubjects<LambdaFigures>,
    pub local: LocalSubjects,
    pub artifact: Artifact,
    pub cost: Costs,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory: String,
    pub os: String,
}

/// How much is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Samples {
    pub cold: usize,
    pub warm: usize,
    pub load_seconds: u32,
    /// Load rounds per local server, taken in turn (ours, reference, floor, stock, ours, ...)
    /// so a slow spell of the machine falls on every subject alike; the median round counts.
    pub load_rounds: usize,
}

/// One figure per Lambda subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaSubjects<T> {
    pub ours: T,
    pub reference: T,
    pub floor: T,
}

impl<T> LambdaSubjects<T> {
    /// From the figures in the order ours, reference, floor.
    pub fn from_ordered(figures: Vec<T>) -> Result<Self> {
        let count = figures.len();
        let [ours, reference, floor]: [T; 3] = figures
            .try_into()
            .ok()
            .with_context(|| format!("3 Lambda subjects expected, got {count}"))?;
        Ok(Self {
            ours,
            reference,
            floor,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LambdaFigures {
    pub cold_first_response_ms: Stats,
    pub init_ms: Stats,
    pub warm_tools_list_ms: Stats,
    pub warm_tools_call_ms: Stats,
    pub peak_rss_mib: f64,
}

/// Median and p99 of a non-empty series of samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    pub median: f64,
    pub p99: f64,
    pub samples: usize,
}

impl Stats {
    /// `figure` names the series in the error when there is nothing to summarize.
    pub fn of(figure: &str, values: &[f64]) -> Result<Self> {
        let missing = || format!("no samples of {figure}");
        Ok(Self {
            median: devkit::median(values).with_context(missing)?,
            p99: devkit::percentile(values, 99.0).with_context(missing)?,
            samples: values.len(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalSubjects {
    pub ours: LocalFigures,
    pub reference: LocalFigures,
    pub floor: LocalFigures,
    #[serde(rename = "stock-rmcp")]
    pub stock_rmcp: LocalFigures,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalFigures {
    pub start_to_first_response_ms: f64,
    pub concurrency: u32,
    /// Medians over the load rounds.
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub rounds_requests_per_second: Vec<f64>,
    /// wrk's count of non-2xx/3xx responses, if it saw any.
    pub non_2xx: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    pub ours_zip_bytes: u64,
    pub ours_zip: String,
    pub ours_x86_64_zip_bytes: u64,
    pub reference_zip_bytes: u64,
    pub reference_with_node_runtime_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Costs {
    pub ours: Cost,
    pub reference: Cost,
    pub floor: Cost,
    pub price_table: PriceTable,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cost {
    pub memory_mb: f64,
    pub billed_ms: f64,
    pub usd_per_million_calls: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceTable {
    pub usd_per_gb_second: f64,
    pub usd_per_million_requests: f64,
    pub architecture: String,
}

impl Costs {
    /// Cost per million tools/call: warm duration (billed per started ms) at the smallest
    /// memory size that holds the measured peak RSS with 50% headroom (128 MB minimum).
    pub fn estimate(lambda: &LambdaSubjects<LambdaFigures>) -> Self {
        let cost = |figures: &LambdaFigures| {
            let memory_mb = [128.0, 256.0, 512.0, 1024.0, 2048.0]
                .into_iter()
                .find(|m| *m >= figures.peak_rss_mib * 1.5)
                .unwrap_or(3008.0);
            let billed_ms = figures.warm_tools_call_ms.median.ceil().max(1.0);
            Cost {
                memory_mb,
                billed_ms,
                usd_per_million_calls: PRICE_PER_MILLION_REQUESTS
                    + 1e6 * billed_ms / 1000.0 * memory_mb / 1024.0 * PRICE_PER_GB_SECOND,
            }
        };
        Self {
            ours: cost(&lambda.ours),
            reference: cost(&lambda.reference),
            floor: cost(&lambda.floor),
            price_table: PriceTable {
                usd_per_gb_second: PRICE_PER_GB_SECOND,
                usd_per_million_requests: PRICE_PER_MILLION_REQUESTS,
                architecture: "x86_64 (the emulator here); arm64 is 20% cheaper per GB-s".into(),
            },
        }
    }
}

impl Report {
    /// Pretty JSON with every object's keys sorted, whatever serde_json's features (the
    /// committed results files are in that form).
    pub fn to_json(&self) -> Result<String> {
        let mut value = serde_json::to_value(self)?;
        value.sort_all_objects();
        Ok(serde_json::to_string_pretty(&value)?)
    }

    /// A report read back; a missing or unknown figure is an error that names it. (Only the
    /// tests read reports back: the run writes them.)
    #[cfg(test)]
    pub fn from_json(text: &str) -> Result<Self> {
        let mut json = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut json).context("not a complete benchmark report")
    }

    /// The report as a Markdown table with every ratio. "× better than reference" is
    /// reference ÷ ours for times and sizes, ours ÷ reference for throughput; "× the floor"
    /// says how far ours is from the bare endpoint (1.0x = no overhead).
    pub fn markdown(&self) -> String {
        let (l, lo) = (&self.lambda, &self.local);
        let mut rows = vec![
            "| figure | ours | reference (Node + LWA) | floor | stock rmcp | ours: × better than reference | ours: × the floor |".to_string(),
            "|---|---|---|---|---|---|---|".to_string(),
        ];
        let mut row = |label: &str,
                       [ours, reference, floor]: [f64; 3],
                       stock: Option<f64>,
                       unit: &str,
                       higher_is_better: bool| {
            let (better, floor_factor) = if higher_is_better {
                (ratio(ours, reference), ratio(floor, ours))
            } else {
                (ratio(reference, ours), ratio(ours, floor))
            };
            rows.push(format!(
                "| {label} | {ours:.2} {unit} | {reference:.2} {unit} | {floor:.2} {unit} | {} | {better} | {floor_factor} |",
                stock.map(|s| format!("{s:.2} {unit}")).unwrap_or_else(|| "–".into()),
            ));
        };
        let lambda =
            |get: fn(&LambdaFigures) -> f64| [get(&l.ours), get(&l.reference), get(&l.floor)];
        let lambda_rows: [Row<LambdaFigures>; 7] = [
            ("Lambda cold start, invoke→first response (median)", |f| {
                f.cold_first_response_ms.median
            }),
            ("Lambda cold start (p99)", |f| f.cold_first_response_ms.p99),
            ("Lambda init duration (median)", |f| f.init_ms.median),
            ("warm tools/list (median)", |f| f.warm_tools_list_ms.median),
            ("warm tools/list (p99)", |f| f.warm_tools_list_ms.p99),
            ("warm tools/call (median)", |f| f.warm_tools_call_ms.median),
            ("warm tools/call (p99)", |f| f.warm_tools_call_ms.p99),
        ];
        for (label, get) in lambda_rows {
            row(label, lambda(get), None, "ms", false);
        }
        row(
            "peak RSS under the emulator",
            lambda(|f| f.peak_rss_mib),
            None,
            "MiB",
            false,
        );
        let local_rows: [Row<LocalFigures>; 3] = [
            ("local start→first response", |f| {
                f.start_to_first_response_ms
            }),
            ("local tools/call p50", |f| f.p50_ms),
            ("local tools/call p99", |f| f.p99_ms),
        ];
        let local =
            |get: fn(&LocalFigures) -> f64| [get(&lo.ours), get(&lo.reference), get(&lo.floor)];
        for (label, get) in local_rows {
            row(label, local(get), Some(get(&lo.stock_rmcp)), "ms", false);
        }
        row(
            &format!(
                "local tools/call throughput ({} conns)",
                lo.ours.concurrency
            ),
            local(|f| f.requests_per_second),
            Some(lo.stock_rmcp.requests_per_second),
            "req/s",
            true,
        );
        rows.push(format!(
            "| ours vs stock rmcp throughput | {} | | | | | |",
            ratio(
                lo.ours.requests_per_second,
                lo.stock_rmcp.requests_per_second
            )
        ));
        let a = &self.artifact;
        let mb = |bytes: u64| bytes as f64 / 1e6;
        rows.push(format!(
            "| deploy artifact (zip) | {:.2} MB (arm64 as shipped; x86_64 {:.2} MB) | {:.2} MB; with the Node runtime (image) {:.2} MB | – | – | {} (vs image {}) | – |",
            mb(a.ours_zip_bytes),
            mb(a.ours_x86_64_zip_bytes),
            mb(a.reference_zip_bytes),
            mb(a.reference_with_node_runtime_bytes),
            ratio(a.reference_zip_bytes as f64, a.ours_zip_bytes as f64),
            ratio(
                a.reference_with_node_runtime_bytes as f64,
                a.ours_zip_bytes as f64
            )
        ));
        let c = &self.cost;
        rows.push(format!(
            "| est. Lambda cost per 1M tools/call | ${:.3} ({:?} MB) | ${:.3} ({:?} MB) | ${:.3} | – | {} | – |",
            c.ours.usd_per_million_calls,
            c.ours.memory_mb,
            c.reference.usd_per_million_calls,
            c.reference.memory_mb,
            c.floor.usd_per_million_calls,
            ratio(c.reference.usd_per_million_calls, c.ours.usd_per_million_calls)
        ));
        let (m, s) = (&self.machine, &self.samples);
        format!(
            "{}\n\nMachine: {} ({} cores), {}. Samples: {} cold starts, {} warm invokes each, {} s of tools/call load per local server in each of {} rounds taken in turn (median round shown). \
             Prices: ${}/GB-s, ${}/1M requests.\n",
            rows.join("\n"),
            m.cpu,
            m.cores,
            m.memory,
            s.cold,
            s.warm,
            s.load_seconds,
            s.load_rounds,
            c.price_table.usd_per_gb_second,
            c.price_table.usd_per_million_requests,
        )
    }
}

/// A table row: its label and how to read its figure from one subject's figures.
type Row<T> = (&'static str, fn(&T) -> f64);

/// `a ÷ b`, when both are positive and finite.
pub fn ratio_of(a: f64, b: f64) -> Option<f64> {
    (a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()).then(|| a / b)
}

fn ratio(a: f64, b: f64) -> String {
    ratio_of(a, b).map_or_else(|| "n/a".into(), |r| format!("{r:.1}x"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn committed(name: &str) -> String {
        let path = crate::repo_root().join("bench/results").join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn the_committed_results_are_reproduced_from_their_json() {
        for run in ["latest", "quick"] {
            let json = committed(&format!("{run}.json"));
            let report: Report = serde_json::from_value(exact_floats(&json)).unwrap();
            assert_eq!(
                report.markdown(),
                committed(&format!("{run}.md")),
                "{run}.md"
            );
            assert_eq!(report.to_json().unwrap(), json, "{run}.json");
            assert_eq!(
                Report::from_json(&json).unwrap().markdown(),
                report.markdown()
            );
        }
    }

    /// The JSON with every float parsed by std (correctly rounded): serde_json's own parser,
    /// without its float_roundtrip feature (which would reach the product's build too), can be
    /// one ulp off, and the file would not be written back byte for byte.
    fn exact_floats(pretty: &str) -> serde_json::Value {
        fn walk(value: &mut serde_json::Value, tokens: &mut impl Iterator<Item = String>) {
            match value {
                serde_json::Value::Number(n) => {
                    let token = tokens.next().expect("a number token per number");
                    if n.is_f64() {
                        *value = serde_json::json!(token.parse::<f64>().unwrap());
                    }
                }
                serde_json::Value::Array(items) => items.iter_mut().for_each(|v| walk(v, tokens)),
                serde_json::Value::Object(map) => map.values_mut().for_each(|v| walk(v, tokens)),
                _ => {}
            }
        }
        // Pretty JSON holds one scalar a line, in the order the (sorted) maps iterate.
        let mut tokens = pretty.lines().filter_map(|line| {
            let scalar = line.split_once("\": ").map_or(line, |(_, v)| v);
            let scalar = scalar.trim().trim_end_matches(',');
            scalar.parse::<f64>().is_ok().then(|| scalar.to_owned())
        });
        let mut value = serde_json::from_str(pretty).unwrap();
        walk(&mut value, &mut tokens);
        assert!(tokens.next().is_none());
        value
    }

    #[test]
    fn a_missing_figure_is_an_error() {
        let mut value: serde_json::Value = serde_json::from_str(&committed("quick.json")).unwrap();
        value["lambda"]["ours"]["init_ms"]["median"] = serde_json::Value::Null;
        let error = Report::from_json(&value.to_string()).unwrap_err();
        assert!(
            format!("{error:#}").contains("lambda.ours.init_ms.median"),
            "{error:#}"
        );
        value["lambda"]["ours"]
            .as_object_mut()
            .unwrap()
            .remove("init_ms");
        assert!(Report::from_json(&value.to_string()).is_err());
        let error = Stats::of("init_ms", &[]).unwrap_err();
        assert_eq!(error.to_string(), "no samples of init_ms");
    }

    #[test]
    fn cost_is_billed_per_started_ms_at_the_memory_that_fits() {
        for run in ["latest", "quick"] {
            let json = exact_floats(&committed(&format!("{run}.json")));
            let report: Report = serde_json::from_value(json).unwrap();
            assert_eq!(Costs::estimate(&report.lambda), report.cost, "{run}");
        }
    }
}
