//! The auditor's view of Jira: the shared [`JiraClient`] (and its retry policy) behind a
//! semaphore that bounds requests in flight, with a request counter and offset paging.

use crate::Progress;
use crate::model::Page;
use futures::StreamExt as _;
use futures::future::try_join_all;
use jira_auth_core::jira::{JiraClient, JiraError};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

#[derive(Debug)]
pub(crate) struct Api {
    client: JiraClient,
    limit: Semaphore,
    concurrency: usize,
    requests: AtomicU64,
    progress: Option<Arc<dyn Progress>>,
}

impl Api {
    pub(crate) fn new(
        client: JiraClient,
        concurrency: usize,
        progress: Option<Arc<dyn Progress>>,
    ) -> Self {
        Self {
            client,
            limit: Semaphore::new(concurrency.max(1)),
            concurrency: concurrency.max(1),
            requests: AtomicU64::new(0),
            progress,
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
        path_and_query: &str,
    ) -> Result<T, JiraError> {
        let url = self.client.rest(path_and_query)?;
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

    /// Every item of an offset-paged list. The first page tells the total; the remaining
    /// pages are then fetched concurrently (bounded by the semaphore). Without a total, pages
    /// are followed one by one until `isLast` or an empty page.
    pub(crate) async fn paged<T: DeserializeOwned>(
        &self,
        path: &str,
        page_size: usize,
    ) -> Result<Vec<T>, JiraError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let page_url = |start: usize| format!("{path}{sep}startAt={start}&maxResults={page_size}");
        let first: Page<T> = self.get(&page_url(0)).await?;
        let mut items = first.values;
        // The server may cap the page size below what was asked: step by what it served.
        let step = items.len();
        if first.is_last == Some(true) || step == 0 {
            return Ok(items);
        }
        if let Some(total) = first.total {
            let starts: Vec<usize> = (step..total).step_by(step).collect();
            let pages = try_join_all(starts.into_iter().map(|s| {
                let url = page_url(s);
                async move { self.get::<Page<T>>(&url).await }
            }))
            .await?;
            for page in pages {
                items.extend(page.values);
            }
            return Ok(items);
        }
        // No total: follow the pages in order. Bounded: each loop consumes a non-empty page.
        loop {
            let page: Page<T> = self.get(&page_url(items.len())).await?;
            let done = page.is_last == Some(true) || page.values.len() < step;
            items.extend(page.values);
            if done {
                return Ok(items);
            }
        }
    }
}
