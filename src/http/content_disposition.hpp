// The Content-Disposition header of one multipart/form-data part (RFC 7578 §4.2).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace photoshare::http {

struct FormDisposition {
    std::string name;
    std::optional<std::string> filename;  // present (possibly empty) for file inputs
};

// Throws HttpError 400 "bad_multipart" unless the value is `form-data` with exactly one
// `name`. The file name comes from, in order of preference: `filename*` (RFC 5987
// charset'lang'pct-encoded; UTF-8, US-ASCII and ISO-8859-1 accepted), RFC 2231 continuations
// (`filename*0*`, `filename*1`, ...), then `filename`, in which "%22" is turned back into '"'
// because that is how the HTML standard tells browsers to send a quote. Any directory part
// is removed (IE sends "C:\Users\x\a.png"): the name is only ever shown, but a path in it
// would show the client's directory layout and tempt someone to join it to a path one day.
FormDisposition parse_form_disposition(std::string_view value);

}  // namespace photoshare::http
