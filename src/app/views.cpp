#include "app/views.hpp"

#include "app/assets.hpp"
#include "codec/brotli.hpp"
#include "codec/gzip.hpp"
#include "codec/sha256.hpp"
#include "http/content_coding.hpp"

#include <fmt/format.h>

#include <stdexcept>
#include <unordered_map>

namespace photoshare::app {

namespace {

std::string content_type_for(std::string_view path) {
    auto ends = [&](std::string_view ext) { return path.ends_with(ext); };
    if (ends(".css")) return "text/css; charset=utf-8";
    if (ends(".js")) return "text/javascript; charset=utf-8";
    if (ends(".svg")) return "image/svg+xml";
    if (ends(".png")) return "image/png";
    if (ends(".ico")) return "image/x-icon";
    if (ends(".txt")) return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

}  // namespace

Views::Views() {
    for (const auto& file : embedded_files()) {
        std::string_view path = file.path;
        if (path.starts_with("templates/") && path.ends_with(".mustache")) {
            auto name = path.substr(10, path.size() - 10 - 9);
            kainjow::mustache::mustache check{std::string(file.data)};
            if (!check.is_valid()) throw std::runtime_error("template " + std::string(name) + ": " + check.error_message());
            templates_.emplace(std::string(name), std::string(file.data));
        } else if (path.starts_with("static/")) {
            auto rel = std::string(path.substr(7));
            auto hash = codec::sha256_hex(file.data).substr(0, 12);
            const auto type = content_type_for(rel);
            std::shared_ptr<const std::string> gzipped, brotli;
            if (http::compressible(type)) {
                gzipped = std::make_shared<const std::string>(codec::gzip(file.data, 9));
                brotli = std::make_shared<const std::string>(codec::brotli(file.data, 11));
            }
            assets_.emplace(rel, Asset{type, std::make_shared<const std::string>(file.data), std::move(gzipped), std::move(brotli),
                                       "\"" + hash + "\""});
            asset_urls_.emplace(rel, fmt::format("/static/{}?v={}", rel, hash));
        }
    }
}

std::string Views::render(const std::string& name, const Data& data) const {
    // A parsed mustache template is not safe to render from two threads at once, so each
    // I/O thread keeps its own parsed copies.
    thread_local std::unordered_map<std::string, std::unique_ptr<kainjow::mustache::mustache>> parsed;
    auto it = parsed.find(name);
    if (it == parsed.end()) {
        auto source = templates_.find(name);
        if (source == templates_.end()) throw std::runtime_error("no template named " + name);
        auto tpl = std::make_unique<kainjow::mustache::mustache>(source->second);
        tpl->set_custom_escape([](const std::string& s) { return html_escape(s); });
        it = parsed.emplace(name, std::move(tpl)).first;
    }
    auto out = it->second->render(data);
    if (!it->second->is_valid()) throw std::runtime_error("template " + name + ": " + it->second->error_message());
    return out;
}

const Asset* Views::asset(std::string_view path) const {
    auto it = assets_.find(path);
    return it == assets_.end() ? nullptr : &it->second;
}

const std::string& Views::asset_url(const std::string& path) const {
    static const std::string none;
    auto it = asset_urls_.find(path);
    return it == asset_urls_.end() ? none : it->second;
}

}  // namespace photoshare::app
