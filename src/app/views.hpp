// Templates (mustache, escaping everything by default) and static assets, both from the
// files compiled into the binary. Asset URLs carry a content hash, so browsers may keep
// them forever and a new build is fetched at once.
#pragma once

#include "http/escape.hpp"

#include <kainjow/mustache.hpp>

#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace photoshare::app {

using Data = kainjow::mustache::data;

struct Asset {
    std::string content_type;
    std::shared_ptr<const std::string> body;
    std::shared_ptr<const std::string> gzipped;  // text assets, compressed once at start-up
    std::shared_ptr<const std::string> brotli;   // the same in brotli (smaller still)
    std::string etag;  // quoted
};

class Views {
public:
    Views();

    // Renders templates/<name>.mustache. Throws std::runtime_error for a template error.
    std::string render(const std::string& name, const Data& data) const;

    // Static asset by path under static/, nullptr when there is none.
    const Asset* asset(std::string_view path) const;
    // "/static/<path>?v=<hash>".
    const std::string& asset_url(const std::string& path) const;

private:
    std::map<std::string, std::string, std::less<>> templates_;
    std::map<std::string, Asset, std::less<>> assets_;
    std::map<std::string, std::string, std::less<>> asset_urls_;
};

using http::html_escape;

}  // namespace photoshare::app
