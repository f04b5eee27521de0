//! The one paging rule for every paged Cost Explorer operation: pages are fetched in order, one
//! at a time; every fetched page is reported to [`PageProgress`]; at most `max_pages` pages are
//! fetched, and an answer that needs more is a [`CostErrorKind::PageLimit`] error that says how
//! to narrow the query: never a silently truncated answer, and never an extra (paid) request
//! just to find out, since the last allowed page's next-page token already tells.
//!
//! Where the SDK has a paginator (`into_paginator()`: GetCostAndUsageComparisons,
//! GetCostComparisonDrivers) its page stream is used, through [`paginator`]; the others
//! (GetCostAndUsage, GetDimensionValues, GetTags) go through [`token_loop`]. Both yield a page
//! only when asked for the next one, so stopping at the limit sends no further request.
//!
//! [`CostErrorKind::PageLimit`]: super::errors::CostErrorKind::PageLimit

use std::{
    future::Future,
    task::{Context, Poll},
};

use aws_sdk_costexplorer::{
    config::http::HttpResponse,
    error::{ProvideErrorMetadata, SdkError},
    operation::{
        get_cost_and_usage::GetCostAndUsageOutput,
        get_cost_and_usage_comparisons::GetCostAndUsageComparisonsOutput,
        get_cost_comparison_drivers::GetCostComparisonDriversOutput,
        get_dimension_values::GetDimensionValuesOutput, get_tags::GetTagsOutput,
    },
};
use futures::{Stream, StreamExt, TryStreamExt, stream};

use super::{CostError, errors::map_sdk_error};

/// Reports pages fetched (MCP progress notifications when the client asked for them).
pub trait PageProgress: Send + Sync {
    /// Called after each page, with the number of pages fetched so far (1, 2, ...).
    fn page_done(&self, pages: u32) -> impl Future<Output = ()> + Send;
}

/// No progress reporting.
pub struct Silent;

impl PageProgress for Silent {
    async fn page_done(&self, _pages: u32) {}
}

/// One page of a paged operation's answer.
pub trait Page {
    /// The token that asks for the next page; none (or empty) on the last page.
    fn next_page_token(&self) -> Option<&str>;
}

macro_rules! page {
    ($($output:ty),*) => {$(
        impl Page for $output {
            fn next_page_token(&self) -> Option<&str> {
                <$output>::next_page_token(self)
            }
        }
    )*};
}
page!(
    GetCostAndUsageOutput,
    GetCostAndUsageComparisonsOutput,
    GetCostComparisonDriversOutput,
    GetDimensionValuesOutput,
    GetTagsOutput
);

/// Whether another page follows (an empty token ends the answer, as in the SDK's paginators).
fn has_more(page: &impl Page) -> bool {
    page.next_page_token()
        .is_some_and(|token| !token.is_empty())
}

/// The pages of an SDK paginator, for the call that needs IAM action `action`. `poll` polls the
/// stream that `into_paginator().send()` returns: `move |cx| stream.poll_next(cx)`.
pub fn paginator<P, E>(
    action: &'static str,
    poll: impl FnMut(&mut Context<'_>) -> Poll<Option<Result<P, SdkError<E, HttpResponse>>>>,
) -> impl Stream<Item = Result<P, CostError>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    stream::poll_fn(poll).map_err(move |e| map_sdk_error(action, e))
}

/// The pages of an operation the SDK has no paginator for: `fetch(token)` sends one request
/// (the first with no token), and the next page's token comes from each answer.
pub fn token_loop<P, E, F, Fut>(
    action: &'static str,
    fetch: F,
) -> impl Stream<Item = Result<P, CostError>>
where
    P: Page,
    E: ProvideErrorMetadata + std::error::Error + 'static,
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = Result<P, SdkError<E, HttpResponse>>>,
{
    // The state: the fetcher, and the token of the page to fetch next (`None` once done).
    stream::try_unfold(
        (fetch, Some(None::<String>)),
        move |(mut fetch, token)| async move {
            let Some(token) = token else {
                return Ok(None);
            };
            let page = fetch(token.clone())
                .await
                .map_err(|e| map_sdk_error(action, e))?;
            // Like the SDK's paginators: a repeated token ends the stream (and `fetch_pages`
            // reports the answer as incomplete).
            let next = page
                .next_page_token()
                .filter(|next| has_more(&page) && Some(*next) != token.as_deref())
                .map(|next| Some(next.to_owned()));
            Ok(Some((page, (fetch, next))))
        },
    )
}

/// Fetches the pages of one query under the paging rule (see the module documentation),
/// handing each page to `each` in order; returns how many pages were fetched. An answer whose
/// pages stop while the last still has a token (Cost Explorer repeated it) is an error too. `narrow` ends the
/// page-limit error: how to ask a smaller question of this operation.
pub async fn fetch_pages<P: Page>(
    pages: impl Stream<Item = Result<P, CostError>>,
    max_pages: u32,
    narrow: &str,
    progress: &impl PageProgress,
    mut each: impl FnMut(P),
) -> Result<u32, CostError> {
    let mut pages = std::pin::pin!(pages);
    let mut fetched = 0;
    let mut more = false;
    while let Some(page) = pages.next().await {
        let page = page?;
        fetched += 1;
        more = has_more(&page);
        each(page);
        progress.page_done(fetched).await;
        if more && fetched >= max_pages {
            return Err(CostError::page_limit(max_pages, narrow));
        }
    }
    if more {
        // The pages stopped while the last one still asked for another: a repeated token.
        return Err(CostError::repeated_token(fetched));
    }
    Ok(fetched)
}
