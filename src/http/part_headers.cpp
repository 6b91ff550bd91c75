#include "http/part_headers.hpp"

#include "http/content_disposition.hpp"
#include "http/message.hpp"
#include "http/token.hpp"

#include <vector>

namespace photoshare::http {

namespace {

[[noreturn]] void bad(const std::string& message) { throw HttpError(400, "bad_multipart", message); }

bool is_ows(char c) { return c == ' ' || c == '\t'; }

struct Field {
    std::string_view name;
    std::string value;
};

std::vector<Field> split_fields(std::string_view block) {
    std::vector<Field> fields;
    while (!block.empty()) {
        std::size_t eol = block.find("\r\n");
        if (eol == std::string_view::npos) bad("multipart part header line does not end in CRLF");
        std::string_view line = block.substr(0, eol);
        block.remove_prefix(eol + 2);
        if (line.find_first_of("\r\n") != std::string_view::npos) bad("stray CR or LF in multipart part headers");
        if (!line.empty() && is_ows(line.front())) {
            if (fields.empty()) bad("multipart part headers start with a continuation line");
            fields.back().value.push_back(' ');
            fields.back().value.append(trim_ows(line));
            continue;
        }
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) bad("multipart part header line has no ':'");
        std::string_view name = line.substr(0, colon);
        if (!is_token(name)) bad("multipart part header has an empty or invalid name");
        fields.push_back(Field{name, std::string(trim_ows(line.substr(colon + 1)))});
    }
    return fields;
}

void take_once(std::optional<std::string>& slot, Field& f, std::string_view canonical_name) {
    if (slot) bad("multipart part repeats the " + std::string(canonical_name) + " header");
    slot = std::move(f.value);
}

}  // namespace

PartHeaders parse_part_headers(std::string_view block) {
    std::optional<std::string> disposition, content_type, transfer_encoding;
    for (Field& f : split_fields(block)) {
        if (iequals(f.name, "content-disposition"))
            take_once(disposition, f, "Content-Disposition");
        else if (iequals(f.name, "content-type"))
            take_once(content_type, f, "Content-Type");
        else if (iequals(f.name, "content-transfer-encoding"))
            take_once(transfer_encoding, f, "Content-Transfer-Encoding");
    }
    if (!disposition) bad("multipart part has no Content-Disposition header");
    if (transfer_encoding && !iequals(*transfer_encoding, "7bit") && !iequals(*transfer_encoding, "8bit") &&
        !iequals(*transfer_encoding, "binary"))
        bad("multipart part uses a Content-Transfer-Encoding other than 7bit, 8bit or binary");

    FormDisposition d = parse_form_disposition(*disposition);
    PartHeaders out;
    out.name = std::move(d.name);
    out.filename = std::move(d.filename);
    out.content_type = content_type && !content_type->empty() ? std::move(*content_type) : "text/plain";
    return out;
}

}  // namespace photoshare::http
