//! `/docs`: the interactive Swagger UI, as the original FastAPI service
//! served it — but its files are compiled into the binary
//! (`utoipa-swagger-ui`'s vendored copy), so nothing is fetched from the
//! internet at build or run time — and `/docs/plain`, a page rendered on the
//! server for reading without JavaScript. Every link is relative, so both
//! work behind the gateway's prefixes (`/users/docs` loads
//! `/users/docs/swagger-ui-bundle.js` and `/users/openapi.json`; "Try it
//! out" sends to the document's `servers`, the gateway path).

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

/// The Swagger UI page for a document titled `title`.
pub fn swagger_page(openapi: &Value) -> String {
    let title = esc(openapi["info"]["title"].as_str().unwrap_or("API"));
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} — API docs</title>\
         <link rel=\"stylesheet\" href=\"docs/swagger-ui.css\"></head><body>\
         <noscript><p>This page needs JavaScript: read <a href=\"docs/plain\">the plain page</a> \
         or the document itself, <a href=\"openapi.json\">openapi.json</a>.</p></noscript>\
         <div id=\"swagger-ui\"></div>\
         <script src=\"docs/swagger-ui-bundle.js\"></script>\
         <script src=\"docs/swagger-ui-standalone-preset.js\"></script>\
         <script src=\"docs/init.js\"></script></body></html>"
    )
}

/// Starts Swagger UI on the document next to the page (`openapi.json`,
/// relative, so under any prefix). A file, not an inline script.
const INIT_JS: &str = "window.onload = function () {\n\
  window.ui = SwaggerUIBundle({\n\
    url: new URL('openapi.json', document.baseURI).href,\n\
    dom_id: '#swagger-ui',\n\
    deepLinking: true,\n\
    persistAuthorization: false,\n\
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],\n\
    layout: 'StandaloneLayout'\n\
  });\n\
};\n";

/// `GET /docs/{file}`: Swagger UI's own files, `init.js`, and `plain` (the
/// server-rendered page, given as `plain`).
pub fn file(name: &str, plain: &Arc<String>) -> Response {
    if name == "plain" {
        return Html((**plain).clone()).into_response();
    }
    if name == "init.js" {
        return ([(header::CONTENT_TYPE, "text/javascript")], INIT_JS).into_response();
    }
    // Only the files the page loads: not the vendored index.html and its
    // initializer, which point at a document of their own.
    if matches!(name, "" | "index.html" | "swagger-initializer.js") || name.contains("..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    match utoipa_swagger_ui::serve(name, Arc::new(utoipa_swagger_ui::Config::default())) {
        Ok(Some(f)) => {
            let mut res = (
                [
                    (header::CONTENT_TYPE, f.content_type),
                    (header::CACHE_CONTROL, "public, max-age=86400".to_owned()),
                ],
                f.bytes.into_owned(),
            )
                .into_response();
            if f.gzpipped {
                res.headers_mut().insert(
                    header::CONTENT_ENCODING,
                    header::HeaderValue::from_static("gzip"),
                );
            }
            res
        }
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// The `/docs/{*file}` handler state: the plain page.
pub async fn file_handler(
    axum::extract::State(plain): axum::extract::State<Arc<String>>,
    Path(name): Path<String>,
) -> Response {
    file(&name, &plain)
}

/// The plain HTML page for an OpenAPI document (no JavaScript).
pub fn page(openapi: &Value) -> String {
    let title = esc(openapi["info"]["title"].as_str().unwrap_or("API"));
    let version = esc(openapi["info"]["version"].as_str().unwrap_or(""));
    let mut html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>body{{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em}}\
         code,pre{{background:#f4f4f4;padding:.1em .3em}}pre{{padding:.6em;overflow:auto}}\
         .op{{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;margin:1em 0}}\
         .m{{font-weight:bold;text-transform:uppercase;margin-right:.5em}}\
         table{{border-collapse:collapse}}td,th{{border:1px solid #ddd;padding:.2em .5em;text-align:left}}</style>\
         </head><body><h1>{title} <small>{version}</small></h1>\
         <p>Machine-readable document: <a href=\"openapi.json\">openapi.json</a>.</p>"
    );
    if let Some(desc) = openapi["info"]["description"].as_str() {
        let _ = write!(html, "<p>{}</p>", esc(desc));
    }
    html.push_str("<h2>Operations</h2>");
    if let Some(paths) = openapi["paths"].as_object() {
        for (path, ops) in paths {
            let Some(ops) = ops.as_object() else { continue };
            for (method, op) in ops {
                operation(&mut html, method, path, op);
            }
        }
    }
    if let Some(schemas) = openapi["components"]["schemas"].as_object() {
        html.push_str("<h2>Schemas</h2>");
        for (name, schema) in schemas {
            let pretty = serde_json::to_string_pretty(schema).unwrap_or_default();
            let _ = write!(
                html,
                "<h3 id=\"{0}\">{0}</h3><pre>{1}</pre>",
                esc(name),
                esc(&pretty)
            );
        }
    }
    html.push_str("</body></html>");
    html
}

fn operation(html: &mut String, method: &str, path: &str, op: &Value) {
    let _ = write!(
        html,
        "<div class=\"op\"><p><span class=\"m\">{}</span><code>{}</code> {}</p>",
        esc(method),
        esc(path),
        esc(op["summary"].as_str().unwrap_or(""))
    );
    if let Some(d) = op["description"].as_str() {
        let _ = write!(html, "<p>{}</p>", esc(d));
    }
    if let Some(params) = op["parameters"].as_array().filter(|p| !p.is_empty()) {
        html.push_str(
            "<table><tr><th>parameter</th><th>in</th><th>required</th><th>description</th></tr>",
        );
        for p in params {
            let _ = write!(
                html,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p["name"].as_str().unwrap_or("")),
                esc(p["in"].as_str().unwrap_or("")),
                p["required"].as_bool().unwrap_or(false),
                esc(p["description"].as_str().unwrap_or(""))
            );
        }
        html.push_str("</table>");
    }
    if let Some(responses) = op["responses"].as_object() {
        html.push_str("<p>Responses: ");
        for (code, r) in responses {
            let _ = write!(
                html,
                "<code>{}</code> {}; ",
                esc(code),
                esc(r["description"].as_str().unwrap_or(""))
            );
        }
        html.push_str("</p>");
    }
    html.push_str("</div>");
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_page_lists_operations_and_escapes_text() {
        let doc = json!({"info": {"title": "t<x>", "version": "1"},
            "paths": {"/users/{email}": {"get": {"summary": "Read a user", "responses": {"200": {"description": "ok"}}}}}});
        let html = page(&doc);
        assert!(html.contains("/users/{email}"));
        assert!(html.contains("Read a user"));
        assert!(html.contains("t&lt;x&gt;"));
        assert!(html.contains("href=\"openapi.json\""));
    }

    #[test]
    fn swagger_loads_its_vendored_files_relative_to_the_page() {
        let doc = json!({"info": {"title": "user-service", "version": "1"}, "paths": {}});
        let html = swagger_page(&doc);
        for f in [
            "docs/swagger-ui.css",
            "docs/swagger-ui-bundle.js",
            "docs/init.js",
        ] {
            assert!(html.contains(&format!("\"{f}\"")), "{f} linked");
        }
        assert!(!html.contains("http"), "nothing from another host: {html}");
        let plain = Arc::new(page(&doc));
        for (name, kind) in [
            ("swagger-ui-bundle.js", "javascript"),
            ("swagger-ui.css", "css"),
            ("init.js", "javascript"),
        ] {
            let res = file(name, &plain);
            assert_eq!(res.status(), StatusCode::OK, "{name}");
            let ct = res.headers()[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(ct.contains(kind), "{name}: {ct}");
        }
        assert_eq!(file("plain", &plain).status(), StatusCode::OK);
        for missing in [
            "index.html",
            "swagger-initializer.js",
            "nope.js",
            "../Cargo.toml",
        ] {
            assert_eq!(
                file(missing, &plain).status(),
                StatusCode::NOT_FOUND,
                "{missing}"
            );
        }
    }
}
