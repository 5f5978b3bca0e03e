//! The policy phase of the pipeline: runs a route's policy chain on the request, turns a
//! policy's answer into the response, and adds the headers policies leave for the response.

use crate::body::ClientBody;
use crate::body::ProxyBody;
use crate::pipeline::RequestCtx;
use crate::response_tap::ResponseTap;
use http::{HeaderMap, Request, Response, header};
use http_body_util::{BodyExt, Limited};
use switchyard_policy::{Answer, BodyCheck, Chain, Exchange, PROBLEM_JSON, Passed, ResponseCheck};

/// Runs `chain` on `req`; `Err` is the gateway's own answer, the request goes no further.
pub(crate) async fn apply(
    chain: &Chain,
    ctx: &mut RequestCtx,
    req: &mut Request<ClientBody>,
    route: &str,
    params: &[(String, String)],
) -> Result<Passed, Box<Answer>> {
    // Hop-by-hop headers go before the policies run: removed later, a client's
    // `Connection: x-user` would delete the identity header a policy just set.
    crate::headers::remove_hop_by_hop(req.headers_mut());
    let method = req.method().clone();
    let mut uri = std::mem::take(req.uri_mut());
    let mut ex = Exchange {
        method: &method,
        uri: &mut uri,
        headers: req.headers_mut(),
        client_ip: ctx.client.ip(),
        route,
        params,
    };
    let verdict = chain.apply(&mut ex).await;
    *req.uri_mut() = uri;
    match verdict {
        Ok(passed) => {
            if let Some(max) = passed.max_body {
                ctx.max_body = Some(ctx.max_body.map_or(max, |m| m.min(max)));
            }
            Ok(passed)
        }
        Err(answer) => {
            ctx.log.reason = Some(answer.reason);
            ctx.log.policy = Some(answer.policy.clone());
            Err(answer)
        }
    }
}

/// Reads the body a validation policy must see (up to its limit, and the route's), has it
/// checked, and puts it back for the action.
pub(crate) async fn check_body(
    check: &BodyCheck,
    ctx: &mut RequestCtx,
    req: Request<ClientBody>,
) -> Result<Request<ClientBody>, Box<Answer>> {
    let limit = ctx
        .max_body
        .map_or(check.max_bytes, |m| m.min(check.max_bytes));
    let (parts, body) = req.into_parts();
    let bytes = match Limited::new(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .collect()
        .await
    {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            let too_large = e
                .downcast_ref::<http_body_util::LengthLimitError>()
                .is_some();
            let answer = check.unreadable(too_large, limit);
            ctx.log.reason = Some(answer.reason);
            ctx.log.policy = Some(answer.policy.clone());
            return Err(Box::new(answer));
        }
    };
    let content_type = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    if let Err(answer) = check.check(content_type, &bytes) {
        ctx.log.reason = Some(answer.reason);
        ctx.log.policy = Some(answer.policy.clone());
        return Err(answer);
    }
    let body = if bytes.is_empty() { None } else { Some(bytes) };
    Ok(Request::from_parts(parts, ClientBody::Read(body)))
}

/// Starts the report-only check of the service's response: the head now, the body (a
/// bounded copy) as it streams to the client.
pub(crate) fn check_response(
    mut check: ResponseCheck,
    response: Response<ProxyBody>,
) -> Response<ProxyBody> {
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    match check.head(response.status(), content_type) {
        Some(limit) => {
            response.map(|body| ProxyBody::Tapped(Box::new(ResponseTap::new(body, check, limit))))
        }
        None => {
            check.finish(None);
            response
        }
    }
}

/// The gateway's answer for a request a policy stopped.
pub(crate) fn respond(answer: Answer) -> Response<ProxyBody> {
    let body = answer.body_bytes();
    let mut response = Response::new(match &body {
        Some(bytes) => ProxyBody::full(bytes::Bytes::from(bytes.clone())),
        None => ProxyBody::empty(),
    });
    *response.status_mut() = answer.status;
    let headers = response.headers_mut();
    if body.is_some() {
        headers.insert(header::CONTENT_TYPE, PROBLEM_JSON);
    }
    for (name, value) in answer.headers {
        headers.append(name, value);
    }
    response
}

/// Adds the headers the policies left for the response (CORS, `RateLimit`). The gateway's
/// `Access-Control-*` replace the service's own: two values would make a browser refuse both.
pub(crate) fn finish(passed: Passed, headers: &mut HeaderMap) {
    for (name, value) in passed.response_headers {
        if name.as_str().starts_with("access-control-") {
            headers.insert(name, value);
        } else {
            headers.append(name, value);
        }
    }
}
