//! `/docs`: a readable page rendered on the server from the service's OpenAPI
//! document. No JavaScript and nothing fetched from the internet, at build
//! time or at run time; links are relative so the page works behind the
//! gateway's prefixes (`/users/docs` links to `/users/openapi.json`).

use std::fmt::Write;

use serde_json::Value;

/// The HTML page for an OpenAPI document.
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
}
