-- Blank forms (申请表, 授权书, 服务协议) uploaded by admins as PDFs; without one, the built-in
-- printable page is served.
CREATE TABLE form_templates (
    kind        TEXT    PRIMARY KEY,
    file_key    TEXT    NOT NULL,
    size        BIGINT NOT NULL,
    sha256      TEXT    NOT NULL,
    uploaded_by BIGINT,
    uploaded_at BIGINT NOT NULL
);
