//! The auditor's view of Jira: the shared [`JiraClient`] (and its retry policy) behind a
//! semaphore that bounds requests in flight, with a request counter and offset paging that
//! does not trust the server.

use crate::Progress;
use crate::gather::Failed;
use crate::model::Page;
use futures::StreamExt as _;
use jira_auth_core::Category;
use jira_auth_core::jira::{JiraClient, JiraError};
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

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
    limit: Semaphore,
    concurrency: usize,
    max_pages: usize,
    requests: AtomicU64,
    progress: Option<Arc<dyn Progress>>,
    /// The first paging limit hit: the audit fails as a whole with it.
    limit_hit: Mutex<Option<String>>,
}

impl Api {
    pub(crate) fn new(
        client: JiraClient,
        concurrency: usize,
        max_pages: usize,
        progress: Option<Arc<dyn Progress>>,
    ) -> Self {
        Self {
            client,
            limit: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
            max_pages: max_pages.max(1),
            requests: AtomicU64::new(0),
            progress,
            limit_hit: Mutex::new(None),
        }
    }

    /// Runs `f` over `items` with at most `concurrency` futures alive at once, in any order.
    /// Unlike `join_all`, memory stays bounded however many items there are (a request future
    /// is several kilobytes; a 10,000-project site would otherwise hold 10,000 of them).
    pub(crate) async fn bounded<I, F, Fut, T>(&self, items: I, f: F) -> Vec<T>
    where
        I: IntoIterator,
        F: FnMut(I::Item) -> Fut,
        Fut: Future<Output = T>,
    {
        futures::stream::iter(items)
            .map(f)
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
        let n = self.requests.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(p) = &self.progress {
            p.requests_done(n);
        }
    }

    /// `GET {rest prefix}{path_and_query}` decoded as `T`.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        path_and_query: impl AsRef<str>,
    ) -> Result<T, JiraError> {
        let url = self.client.rest(path_and_query.as_ref())?;
        let result = {
            // The semaphore is never closed, so acquiring cannot fail.
            let _permit = self.limit.acquire().await.ok();
            self.client.get_json(&url).await
        };
        self.count();
        result
    }

    /// `GET` an absolute URL the server gave (a `nextPage` link), decoded as `T`.
    pub(crate) async fn get_absolute<T: DeserializeOwned>(
        &self,
        url: &str,
    ) -> Result<T, JiraError> {
        let url = self.client.url(url)?;
        let result = {
            let _permit = self.limit.acquire().await.ok();
            self.client.get_json(&url).await
        };
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
        let result = {
            let _permit = self.limit.acquire().await.ok();
            self.client.post_json(&url, body).await
        };
        self.count();
        result
    }

    /// Every item of an offset-paged list, deduplicated by [`Keyed::key`].
    ///
    /// The server is not trusted: completion is decided by the pages themselves (`isLast`,
    /// an empty page, or a short page without `isLast: false`), never by `total`, which only
    /// bounds how many further pages are fetched at once (at most the concurrency). A page
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
        let mut listed = Listed {
            items: Vec::new(),
            incomplete: None,
        };
        let mut seen = HashSet::new();
        let mut next = 0usize;
        let mut pages = 0usize;
        // The page size the server serves (it may cap what was asked), learnt from page one.
        let mut step = 0usize;
        let mut hint: Option<usize> = None;
        loop {
            let wave = match (step, hint) {
                (0, _) | (_, None) => 1,
                (step, Some(total)) => total
                    .saturating_sub(next)
                    .div_ceil(step)
                    .clamp(1, self.concurrency),
            };
            let starts: Vec<usize> = (0..wave)
                .map(|i| next.saturating_add(i.saturating_mul(step)))
                .collect();
            let answers = futures::future::join_all(
                starts
                    .iter()
                    .map(|&start| self.get::<Page<T>>(page_url(start))),
            )
            .await;
            for (start, answer) in starts.into_iter().zip(answers) {
                let page = answer.map_err(Failed::from)?;
                pages += 1;
                if start != next {
                    // An earlier page of this wave was short: refetch from where it ended.
                    break;
                }
                if step == 0 {
                    step = page.values.len();
                }
                hint = page.total;
                let served = page.values.len();
                let before = listed.items.len();
                for item in page.values {
                    if seen.insert(item.key()) {
                        listed.items.push(item);
                    }
                }
                let fresh = listed.items.len() - before;
                if listed.items.len() > MAX_ITEMS || pages > self.max_pages {
                    return Err(self.too_many(endpoint(), pages, listed.items.len()));
                }
                let last = page.is_last == Some(true)
                    || served == 0
                    || (served < step && page.is_last != Some(false));
                if last {
                    return Ok(listed);
                }
                if fresh == 0 {
                    listed.incomplete = Some(format!(
                        "{} answered startAt={start} with no item it had not already sent although the page was not the last; the list stops at {} items",
                        endpoint(),
                        listed.items.len()
                    ));
                    return Ok(listed);
                }
                next = next.saturating_add(served);
            }
        }
    }

    /// The paging-limit error, remembered so the audit as a whole fails with it.
    pub(crate) fn too_many(&self, endpoint: String, pages: usize, items: usize) -> Failed {
        let message = format!(
            "{endpoint} kept paging past {pages} pages and {items} items (the limits are {} pages and {MAX_ITEMS} items): the server is not ending the list",
            self.max_pages
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
