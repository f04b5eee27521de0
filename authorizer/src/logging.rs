//! JSON log lines with the Lambda request id on each one.
//!
//! lambda_runtime runs every invocation inside a span `Lambda runtime invoke` carrying
//! `requestId`. tracing's JSON format can print the current span, but the current span is the
//! innermost one (an SDK call's, a tool's), and rmcp serves tools in tasks of their own, outside
//! any span. So a small layer remembers `requestId` on each span that has it, and the format
//! puts the nearest one as a top-level `requestId` member of every line inside it: one field to
//! filter on in CloudWatch Logs Insights, whatever the nesting.

use std::fmt;

use tracing::{
    Event, Subscriber,
    field::{Field, Visit},
    span,
};
use tracing_subscriber::{
    EnvFilter, Layer,
    fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter, format::Writer},
    layer::{Context, SubscriberExt},
    registry::LookupSpan,
};

/// The span field that names the invocation (lambda_runtime's spelling).
const FIELD: &str = "requestId";

/// A span's `requestId`, kept in its extensions.
struct RequestId(String);

/// Remembers `requestId` of each new span that has one.
struct RequestIdLayer;

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for RequestIdLayer {
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut found = FindRequestId(None);
        attrs.record(&mut found);
        if let (Some(request_id), Some(span)) = (found.0, ctx.span(id)) {
            span.extensions_mut().insert(RequestId(request_id));
        }
    }
}

struct FindRequestId(Option<String>);

impl Visit for FindRequestId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == FIELD {
            self.0 = Some(value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if field.name() == FIELD {
            self.0 = Some(format!("{value:?}"));
        }
    }
}

/// The inner format's JSON object, with `"requestId"` first when a span of the event has one.
struct WithRequestId<F>(F);

impl<S, N, F> FormatEvent<S, N> for WithRequestId<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let request_id = ctx.event_scope().and_then(|mut scope| {
            scope.find_map(|span| span.extensions().get::<RequestId>().map(|id| id.0.clone()))
        });
        let Some(request_id) = request_id else {
            return self.0.format_event(ctx, writer, event);
        };
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let rest = line.strip_prefix('{').ok_or(fmt::Error)?;
        let quoted = serde_json::to_string(&request_id).map_err(|_| fmt::Error)?;
        write!(writer, "{{\"{FIELD}\":{quoted},{rest}")
    }
}

/// The subscriber of both binaries: JSON lines (event fields flattened, no span lists) with the
/// request id, through `filter`, to `writer`.
pub fn json_subscriber<W>(writer: W, filter: EnvFilter) -> impl Subscriber + Send + Sync
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let format = tracing_subscriber::fmt::format()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false);
    let lines = tracing_subscriber::fmt::layer()
        .json()
        .with_ansi(false)
        .event_format(WithRequestId(format))
        .with_writer(writer);
    tracing_subscriber::registry()
        .with(filter)
        .with(RequestIdLayer)
        .with(lines)
}

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use serde_json::Value;

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    fn lines(buffer: &Buffer) -> Vec<Value> {
        String::from_utf8(buffer.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
            .collect()
    }

    #[test]
    fn every_line_inside_an_invocation_carries_its_request_id() {
        let buffer = Buffer::default();
        let subscriber = json_subscriber(buffer.clone(), EnvFilter::new("info"));
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!("before");
            // As lambda_runtime's `request_span` records it: a `&String`.
            let id = String::from("8f5c1a2e-0000-4000-8000-000000000001");
            let invoke = tracing::info_span!("Lambda runtime invoke", requestId = &id);
            let _invoke = invoke.enter();
            tracing::info!(status = 200, "request");
            let inner = tracing::info_span!("send", service = "ce");
            let _inner = inner.enter();
            tracing::warn!(reason = "quote \" and \\", "inner");
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(lines[0].get("requestId").is_none());
        assert_eq!(lines[0]["message"], "before");
        for line in &lines[1..] {
            assert_eq!(line["requestId"], "8f5c1a2e-0000-4000-8000-000000000001");
            assert!(line.get("span").is_none() && line.get("spans").is_none());
        }
        assert_eq!(lines[1]["status"], 200);
        assert_eq!(lines[1]["level"], "INFO");
        assert_eq!(lines[2]["reason"], "quote \" and \\");
    }
}
