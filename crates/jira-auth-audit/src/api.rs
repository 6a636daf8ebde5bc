//! The auditor's view of Jira: the shared [`JiraClient`] (its retry policy, and the
//! [`Limiter`] that decides how many requests are in flight), with a request counter, a
//! progress feed, and offset paging that does not trust the server.

use crate::gather::Failed;
use crate::model::Page;
use crate::{Progress, Tally};
use futures::StreamExt as _;
use jira_auth_core::Category;
use jira_auth_core::jira::{JiraClient, JiraError};
use jira_auth_core::limit::Limiter;
use jira_auth_core::plural::count;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Pages one listing may take by default: 10,000 pages of 100 projects is a million projects,
/// far beyond any real site, so a server still paging there is not ending its list.
pub const MAX_PAGES: usize = 10_000;
/// Items one listing may hold.
pub(crate) const MAX_ITEMS: usize = 1_000_000;

/// What identifies an item of a paged list, so a page that repeats items cannot duplicate them.
pub(crate) trait Keyed {
    fn key(&self) -> String;
}

/// The items of a paged list, and why it may be incomplete.
#[derive(Debug, Clone)]
pub(crate) struct Listed<T> {
    pub items: Vec<T>,
    /// Set when the server stopped advancing before it said the list ended.
    pub incomplete: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Api {
    client: JiraClient,
    limiter: Arc<Limiter>,
    /// Futures alive at once in [`Api::bounded`] and pages per wave: the limiter's ceiling.
    concurrency: usize,
    max_pages: usize,
    requests: AtomicU64,
    /// Items handed to [`Api::bounded`] whose requests have not started: the rest of the plan.
    queued: AtomicU64,
    progress: Option<Arc<dyn Progress>>,
    /// The first paging limit hit: the audit fails as a whole with it.
    limit_hit: Mutex<Option<String>>,
}

impl Api {
    /// `client` must have a limiter installed ([`JiraClient::with_limiter`]).
    pub(crate) fn new(
        client: JiraClient,
        limiter: Arc<Limiter>,
        max_pages: usize,
        progress: Option<Arc<dyn Progress>>,
    ) -> Self {
        Self {
            client,
            concurrency: limiter.ceiling(),
            limiter,
            max_pages: max_pages.max(1),
            requests: AtomicU64::new(0),
            queued: AtomicU64::new(0),
            progress,
            limit_hit: Mutex::new(None),
        }
    }

    /// Runs `f` over `items` with at most `concurrency` futures alive at once, in any order.
    /// Unlike `join_all`, memory stays bounded however many items there are (a request future
    /// is several kilobytes; a 10,000-project site would otherwise hold 10,000 of them).
    /// Requests start only when the limiter lets them, so the futures alive are bounded by its
    /// ceiling rather than by its current limit.
    pub(crate) async fn bounded<I, F, Fut, T>(&self, items: I, mut f: F) -> Vec<T>
    where
        I: IntoIterator,
        I::IntoIter: ExactSizeIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future<Output = T>,
    {
        let items = items.into_iter();
        self.queued.fetch_add(items.len() as u64, Ordering::Relaxed);
        futures::stream::iter(items)
            .map(|item| {
                let request = f(item);
                async move {
                    self.queued.fetch_sub(1, Ordering::Relaxed);
                    request.await
                }
            })
            .buffer_unordered(self.concurrency)
            .collect()
            .await
    }

    pub(crate) fn client(&self) -> &JiraClient {
        &self.client
    }

    /// Pages one list may take.
    pub(crate) fn max_pages(&self) -> usize {
        self.max_pages
    }

    /// The paging limit an endpoint ran into, if any.
    pub(crate) fn limit_hit(&self) -> Option<String> {
        self.limit_hit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }

    fn count(&self) {
        let done = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(p) = &self.progress {
            let limits = self.limiter.snapshot();
            p.update(&Tally {
                done,
                planned: done + limits.in_flight as u64 + self.queued.load(Ordering::Relaxed),
                limit: limits.limit,
                in_flight: limits.in_flight,
                throttled: limits.throttled,
                quota_low: limits.quota_low,
            });
        }
    }

    /// `GET {rest prefix}{path_and_query}` decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path_and_query: impl AsRef<str>,
    ) -> Result<T, JiraError> {
        let url = self.client.rest(path_and_query.as_ref())?;
        let result = self.client.get_json(&url).await;
        self.count();
        result
    }

    /// `GET` an absolute URL the server gave (a `nextPage` link), decoded as `T`.
    pub(crate) async fn get_absolute<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, JiraError> {
        let url = self.client.url(url)?;
        let result = self.client.get_json(&url).await;
        self.count();
        result
    }

    /// `POST {rest prefix}{path}` with a JSON body.
    pub(crate) async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<T, JiraError> {
        let url = self.client.rest(path)?;
        let result = self.client.post_json(&url, body).await;
        self.count();
        result
    }

    /// Every item of an offset-paged list, deduplicated by [`Keyed::key`].
    ///
    /// The server is not trusted: completion is decided by the pages themselves (`isLast`,
    /// an empty page, or a short page without `isLast: false`), never by `total`, which only
    /// bounds how many further pages are fetched at once (at most the current limit). A page
    /// that adds no new item ends the listing, which is then marked incomplete; more than
    /// `max_pages` pages or [`MAX_ITEMS`] items is an error naming the endpoint.
    pub(crate) async fn paged<T: DeserializeOwned + Keyed>(
        &self,
        path: &str,
        page_size: usize,
    ) -> Result<Listed<T>, Failed> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page_url = |start: usize| format!("{path}{sep}startAt={start}&maxResults={page_size}");
        let endpoint = || {
            format!(
                "GET {}{}",
                self.client.deployment().rest_prefix(),
                path.split('?').next().unwrap_or(path)
            )
        };
        let mut paging = Paging::new();
        loop {
            // As many pages at once as the limiter lets fly now: a wider wave only waits, and past
            // the end of the list every extra page is a wasted request.
            let starts = paging.wave(self.limiter.snapshot().limit);
            let answers = futures::future::join_all(
                starts
                    .iter()
                    .map(|&start| self.get::<Page<T>>(page_url(start))),
            )
            .await;
            for (start, answer) in starts.into_iter().zip(answers) {
                let page = answer.map_err(Failed::from)?;
                match paging.take(start, page, self.max_pages) {
                    Turn::More => {}
                    // An earlier page of this wave was short: refetch from where it ended.
                    Turn::Refetch => break,
                    Turn::Done => return Ok(paging.listed),
                    Turn::Stalled => {
                        let mut listed = paging.listed;
                        listed.incomplete = Some(format!(
                            "{} answered startAt={start} with no item it had not already sent although the page was not the last; the list stops at {}",
                            endpoint(),
                            count(listed.items.len(), "item")
                        ));
                        return Ok(listed);
                    }
                    Turn::TooMany => {
                        return Err(self.too_many(
                            endpoint(),
                            paging.pages,
                            paging.listed.items.len(),
                        ));
                    }
                }
            }
        }
    }

    /// The paging-limit error, remembered so the audit as a whole fails with it.
    pub(crate) fn too_many(&self, endpoint: String, pages: usize, items: usize) -> Failed {
        let message = format!(
            "{endpoint} kept paging past {} and {} (the limits are {} and {MAX_ITEMS} items): the server is not ending the list",
            count(pages, "page"),
            count(items, "item"),
            count(self.max_pages, "page")
        );
        let mut first = self.limit_hit.lock().unwrap_or_else(|e| e.into_inner());
        first.get_or_insert_with(|| message.clone());
        Failed {
            message,
            status: None,
            category: Category::Network,
        }
    }
}

/// One offset-paged listing in progress, fed one page at a time. Pure (no request, no clock), so
/// its rules are tested and fuzzed without a server; [`Api::paged`] drives it.
#[derive(Debug)]
pub(crate) struct Paging<T> {
    pub listed: Listed<T>,
    seen: HashSet<String>,
    /// Where the next page starts.
    next: usize,
    /// Pages taken so far.
    pub pages: usize,
    /// The page size the server serves (it may cap what was asked), learnt from page one.
    step: usize,
    /// The last page's `total`: only a hint for how many pages to fetch at once.
    hint: Option<usize>,
}

/// What one page means for its listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Turn {
    /// Go on with the rest of this wave, then the next one.
    More,
    /// This page is not where the list goes on (an earlier page of the wave was short): drop
    /// the rest of the wave and fetch from where the list stopped.
    Refetch,
    /// The list is complete.
    Done,
    /// The page added no item although it was not the last: the list ends, incomplete.
    Stalled,
    /// Past the page or item limit: the server is not ending the list.
    TooMany,
}

impl<T: Keyed> Paging<T> {
    pub(crate) fn new() -> Self {
        Self {
            listed: Listed {
                items: Vec::new(),
                incomplete: None,
            },
            seen: HashSet::new(),
            next: 0,
            pages: 0,
            step: 0,
            hint: None,
        }
    }

    /// The `startAt`s of the next wave, ascending from where the list stopped: one page while
    /// the page size or the total is unknown, else as many as the total suggests, at most
    /// `concurrency`.
    pub(crate) fn wave(&self, concurrency: usize) -> Vec<usize> {
        let wave = match (self.step, self.hint) {
            (0, _) | (_, None) => 1,
            (step, Some(total)) => total
                .saturating_sub(self.next)
                .div_ceil(step)
                .clamp(1, concurrency.max(1)),
        };
        (0..wave)
            .map(|i| self.next.saturating_add(i.saturating_mul(self.step)))
            .collect()
    }

    /// Takes the page the server answered for `startAt=start`. Completion comes from the pages
    /// (`isLast`, an empty page, or a short page without `isLast: false`), never from `total`;
    /// items are deduplicated by [`Keyed::key`].
    pub(crate) fn take(&mut self, start: usize, page: Page<T>, max_pages: usize) -> Turn {
        self.pages += 1;
        if start != self.next {
            return Turn::Refetch;
        }
        if self.step == 0 {
            self.step = page.values.len();
        }
        self.hint = page.total;
        let served = page.values.len();
        let before = self.listed.items.len();
        for item in page.values {
            if self.seen.insert(item.key()) {
                self.listed.items.push(item);
            }
        }
        let fresh = self.listed.items.len() - before;
        if self.listed.items.len() > MAX_ITEMS || self.pages > max_pages {
            return Turn::TooMany;
        }
        let last = page.is_last == Some(true)
            || served == 0
            || (served < self.step && page.is_last != Some(false));
        if last {
            return Turn::Done;
        }
        if fresh == 0 {
            return Turn::Stalled;
        }
        self.next = self.next.saturating_add(served);
        Turn::More
    }
}

/// Runs [`Paging`] over `data` as a server's answers, one JSON page of projects per line, in
/// the order the waves ask for them (a server may answer any `startAt` with any page), and
/// checks what the auditor relies on: waves ascend from where the list stopped and stay within
/// the concurrency, no item is kept twice, and the listing ends within the page limit. Returns
/// the items kept. For the fuzz targets only: not part of the API.
#[doc(hidden)]
pub fn run_paging(data: &[u8], concurrency: usize, max_pages: usize) -> usize {
    use crate::model::Project;
    let mut answers = data.split(|b| *b == b'\n');
    let mut paging = Paging::<Project>::new();
    loop {
        let starts = paging.wave(concurrency);
        assert!(!starts.is_empty() && starts.len() <= concurrency.max(1));
        assert_eq!(
            starts[0], paging.next,
            "a wave starts where the list stopped"
        );
        assert!(starts.windows(2).all(|w| w[0] < w[1]), "a wave ascends");
        for start in starts {
            let Some(Ok(page)) = answers.next().map(serde_json::from_slice::<Page<Project>>) else {
                return paging.listed.items.len();
            };
            let turn = paging.take(start, page, max_pages);
            let keys: HashSet<String> = paging.listed.items.iter().map(Keyed::key).collect();
            assert_eq!(keys.len(), paging.listed.items.len(), "an item kept twice");
            assert!(paging.pages <= max_pages + 1, "paged past the limit");
            match turn {
                Turn::More => {}
                Turn::Refetch => break,
                Turn::Done | Turn::Stalled | Turn::TooMany => return paging.listed.items.len(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `answers` (one JSON page per line) through the pager, as the fuzz target does.
    fn check(answers: &str, concurrency: usize, kept: usize) {
        assert_eq!(
            run_paging(answers.as_bytes(), concurrency, 5),
            kept,
            "{answers}"
        );
    }

    fn page(ids: &[u32], total: Option<usize>, is_last: Option<bool>) -> String {
        let values: Vec<String> = ids
            .iter()
            .map(|id| format!(r#"{{"id":"{id}","key":"P{id}"}}"#))
            .collect();
        let mut page = format!(r#"{{"values":[{}]"#, values.join(","));
        if let Some(total) = total {
            page += &format!(r#","total":{total}"#);
        }
        if let Some(last) = is_last {
            page += &format!(r#","isLast":{last}"#);
        }
        page + "}"
    }

    #[test]
    fn pages_end_by_their_own_word_never_by_total() {
        // A short page without isLast ends the list, whatever total says.
        check(
            &[page(&[1, 2], Some(9), None), page(&[3], Some(9), None)].join("\n"),
            1,
            3,
        );
        // isLast: false on a short page goes on.
        let lines = [
            page(&[1, 2], None, None),
            page(&[3], None, Some(false)),
            page(&[4], None, Some(true)),
        ];
        check(&lines.join("\n"), 1, 4);
    }

    #[test]
    fn a_repeated_page_stalls_and_an_endless_list_stops_at_the_limit() {
        let same = page(&[1, 2], None, Some(false));
        check(&[same.clone(), same.clone(), same].join("\n"), 1, 2);
        let endless: Vec<String> = (0..10)
            .map(|i| page(&[2 * i, 2 * i + 1], None, Some(false)))
            .collect();
        let mut paging = Paging::<crate::model::Project>::new();
        let mut turns = Vec::new();
        for line in &endless {
            let start = paging.wave(1)[0];
            turns.push(paging.take(start, serde_json::from_str(line).unwrap(), 5));
            if turns.last() != Some(&Turn::More) {
                break;
            }
        }
        assert_eq!(turns.last(), Some(&Turn::TooMany));
        assert_eq!(paging.pages, 6);
    }

    #[test]
    fn waves_follow_the_total_up_to_the_concurrency_and_refetch_after_a_short_page() {
        let mut paging = Paging::<crate::model::Project>::new();
        assert_eq!(paging.wave(4), [0]);
        let first = serde_json::from_str(&page(&[1, 2], Some(20), None)).unwrap();
        assert_eq!(paging.take(0, first, 100), Turn::More);
        assert_eq!(paging.wave(4), [2, 4, 6, 8]);
        let short = serde_json::from_str(&page(&[3], Some(20), Some(false))).unwrap();
        assert_eq!(paging.take(2, short, 100), Turn::More);
        let misplaced = serde_json::from_str(&page(&[5, 6], Some(20), None)).unwrap();
        assert_eq!(paging.take(4, misplaced, 100), Turn::Refetch);
        assert_eq!(paging.wave(4), [3, 5, 7, 9]);
    }
}
