//! The simulators' few HTML pages: plain, self-contained, clearly marked as simulations.

/// Escapes text for HTML.
pub fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// A whole page around `body`.
pub fn page(title: &str, brand: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>
<style>body{{font-family:system-ui,"Noto Sans CJK SC",sans-serif;background:#f2f4f7;margin:0}}header{{background:{brand};color:#fff;padding:14px 24px;font-size:18px}}main{{max-width:520px;margin:32px auto;background:#fff;border-radius:8px;padding:24px 28px;box-shadow:0 1px 4px #0002}}.sim{{background:#fff3cd;color:#7a5b00;padding:8px 12px;border-radius:4px;font-size:13px}}.amount{{font-size:32px;color:#e4393c;margin:12px 0}}dl{{display:grid;grid-template-columns:6em 1fr;gap:6px}}dt{{color:#666}}button{{font-size:16px;padding:10px 22px;border-radius:4px;border:1px solid #888;background:#fff;margin-right:10px;cursor:pointer}}button.primary{{background:{brand};border-color:{brand};color:#fff}}select{{font-size:15px;padding:6px}}</style></head>
<body><header>{title}</header><main><p class="sim">这是本地模拟的支付平台，仅用于开发和测试，不会产生真实扣款。</p>{body}</main></body></html>"#,
        title = esc(title),
    )
}
