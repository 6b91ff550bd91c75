// memcached:// — several memcached servers, keys spread by consistent hashing (ketama, as
// libketama and php-memcached's "libketama compatible" mode place them), binary protocol.
//
// Threads: a memcached_st is not thread-safe, so each call leases a clone of one configured
// master from our own pool. Not libmemcachedutil's: its pool hands a client back after any
// error, and after a timeout libmemcached leaves the unanswered request on the connection,
// where its late answer could be read as the answer to the next request; and its clones
// lose the ketama setting (see clone()). A client whose call failed is destroyed; a new
// one connects afresh.
//
// Failure: every call has a deadline (connect and poll timeouts). A server that fails is
// marked down in a Breaker shared by all clients, so calls for its keys fail at once for
// retry_ms instead of each waiting for a timeout, while keys on the other servers work
// normally. After retry_ms one call tries the server again; the first success brings it
// back. Servers are never ejected from the ring: ejecting would move a dead server's keys to
// the others, and when it came back its old values (an old feed generation, a session
// since logged out) would be read again. So a dead server's keys are unavailable, and the
// callers' fallbacks (the database, a new login) apply to them only.
#include <libmemcached/memcached.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <limits>
#include <system_error>

#include "kv/remote.hpp"

namespace photoshare::kv {

namespace detail {

namespace {

using McPtr = std::unique_ptr<memcached_st, decltype(&memcached_free)>;

// memcached reads an expiry over 30 days as an absolute Unix time.
constexpr std::int64_t relative_expiry_limit = 60 * 60 * 24 * 30;

time_t expiration(std::chrono::seconds ttl) {
    const std::int64_t seconds = checked_ttl(ttl);
    if (seconds <= relative_expiry_limit) return static_cast<time_t>(seconds);
    const std::int64_t at = static_cast<std::int64_t>(std::time(nullptr)) + seconds;
    return at > max_ttl_seconds ? 0 : static_cast<time_t>(at);  // past 2106: no expiry
}

void configure(memcached_st* mc, const std::vector<Endpoint>& servers, const NetOptions& net) {
    auto set = [mc](memcached_behavior_t flag, std::uint64_t value) {
        if (memcached_behavior_set(mc, flag, value) != MEMCACHED_SUCCESS) {
            throw std::runtime_error(std::string("memcached: cannot set behavior: ") +
                                     memcached_last_error_message(mc));
        }
    };
    const auto timeout_ms = static_cast<std::uint64_t>(net.timeout.count());
    set(MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
    set(MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    set(MEMCACHED_BEHAVIOR_TCP_KEEPALIVE, 1);
    // libketama's ring (MD5, 160 points per server, placed by "host:port"): adding or
    // removing a server moves only the keys next to its points, and every client with the
    // same server list, in any order, places each key on the same server.
    set(MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    set(MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, static_cast<std::uint64_t>(net.connect_timeout.count()));
    set(MEMCACHED_BEHAVIOR_POLL_TIMEOUT, timeout_ms);
    set(MEMCACHED_BEHAVIOR_SND_TIMEOUT, timeout_ms * 1000);
    set(MEMCACHED_BEHAVIOR_RCV_TIMEOUT, timeout_ms * 1000);
    // Our Breaker does the backing off (shared by all clients, millisecond precision);
    // libmemcached's own, per client, only matters within a client we throw away anyway.
    set(MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
    set(MEMCACHED_BEHAVIOR_REMOVE_FAILED_SERVERS, 0);  // never eject (see the top of the file)
    for (const Endpoint& e : servers) {
        if (memcached_server_add(mc, e.host.c_str(), e.port) != MEMCACHED_SUCCESS) {
            throw std::invalid_argument("memcached:// URL: cannot use server " + e.text() + ": " +
                                        memcached_last_error_message(mc));
        }
    }
}

McPtr make_client(const std::vector<Endpoint>& servers, const NetOptions& net) {
    McPtr mc(memcached_create(nullptr), &memcached_free);
    if (!mc) throw std::bad_alloc();
    configure(mc.get(), servers, net);
    return mc;
}

// Codes after which the connection is in a known state and the call has its answer.
bool answered(memcached_return_t rc) {
    switch (rc) {
        case MEMCACHED_SUCCESS:
        case MEMCACHED_STORED:
        case MEMCACHED_NOTFOUND:
        case MEMCACHED_NOTSTORED:
        case MEMCACHED_DATA_EXISTS:
        case MEMCACHED_DELETED:
        case MEMCACHED_END:
            return true;
        default:
            return false;
    }
}

// The server answered, with an error about this request, not about itself.
bool refused_request(memcached_return_t rc) {
    return rc == MEMCACHED_E2BIG || rc == MEMCACHED_MEMORY_ALLOCATION_FAILURE;
}

std::string error_text(const memcached_st* mc, memcached_return_t rc, const NetOptions& net) {
    if (rc == MEMCACHED_TIMEOUT) return "timed out after " + std::to_string(net.timeout.count()) + " ms";
    std::string text = memcached_strerror(mc, rc);
    if (const int e = memcached_last_error_errno(mc); e != 0) text += " (" + std::generic_category().message(e) + ")";
    return text;
}

bool unsigned_decimal(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

enum class Retry { no, yes };

class MemcachedStore final : public Store {
public:
    explicit MemcachedStore(MemcachedOptions options)
        : options_(std::move(options)),
          master_(make_client(options_.servers, options_.net)),
          pool_(options_.net.pool, &memcached_free) {
        for (const Endpoint& e : options_.servers) {
            nodes_.push_back(std::make_unique<Node>(e.text(), options_.net.retry));
        }
    }

    std::optional<std::string> get(std::string_view key) override {
        const std::string k = memcached_key(key);
        std::optional<std::string> out;
        run("get", k, Retry::yes, [&](memcached_st* mc) {
            std::size_t length = 0;
            std::uint32_t flags = 0;
            memcached_return_t rc = MEMCACHED_SUCCESS;
            std::unique_ptr<char, decltype(&std::free)> value(
                memcached_get(mc, k.data(), k.size(), &length, &flags, &rc), &std::free);
            out.reset();
            if (rc == MEMCACHED_SUCCESS) out.emplace(value ? std::string(value.get(), length) : std::string());
            return rc;
        });
        return out;
    }

    void set(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const time_t exp = expiration(ttl);
        const std::string k = memcached_key(key);
        const auto rc = run("set", k, Retry::yes, [&](memcached_st* mc) {
            return memcached_set(mc, k.data(), k.size(), value.data(), value.size(), exp, 0);
        });
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_STORED) unexpected("set", k, rc);
    }

    // Retried once on a fresh connection like get and set: an add that did reach the server
    // before its connection broke would then report false for a key it set itself, which
    // callers already handle (add is how they claim a key that might exist).
    bool add(std::string_view key, std::string_view value, std::chrono::seconds ttl) override {
        const time_t exp = expiration(ttl);
        const std::string k = memcached_key(key);
        const auto rc = run("add", k, Retry::yes, [&](memcached_st* mc) {
            return memcached_add(mc, k.data(), k.size(), value.data(), value.size(), exp, 0);
        });
        if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_STORED) return true;
        if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS) return false;
        unexpected("add", k, rc);
    }

    void erase(std::string_view key) override {
        const std::string k = memcached_key(key);
        const auto rc = run("erase", k, Retry::yes, [&](memcached_st* mc) {
            return memcached_delete(mc, k.data(), k.size(), 0);
        });
        if (rc != MEMCACHED_SUCCESS && rc != MEMCACHED_DELETED && rc != MEMCACHED_NOTFOUND) unexpected("erase", k, rc);
    }

    // One round trip (the binary protocol's increment with an initial value and expiry).
    // Not retried: an increment that reached the server would be counted twice.
    std::int64_t incr(std::string_view key, std::int64_t delta, std::chrono::seconds ttl) override {
        const time_t exp = expiration(ttl);
        if (delta < 0) {
            throw std::invalid_argument("memcached:// incr: delta must not be negative "
                                        "(memcached counters are unsigned and stop at zero)");
        }
        const std::string k = memcached_key(key);
        std::uint64_t value = 0;
        const auto by = static_cast<std::uint64_t>(delta);
        const auto rc = run(
            "incr", k, Retry::no,
            [&](memcached_st* mc) {
                return memcached_increment_with_initial(mc, k.data(), k.size(), by, by, exp, &value);
            },
            MEMCACHED_UNKNOWN_READ_FAILURE);
        if (rc == MEMCACHED_UNKNOWN_READ_FAILURE) {
            // libmemcached reports memcached's "not a number" answer this way; the value
            // itself tells it apart from a broken answer.
            const auto current = get(key);
            if (current && !unsigned_decimal(*current)) {
                throw std::invalid_argument("kv incr: stored value is not an integer");
            }
            unexpected("incr", k, rc);
        }
        if (rc != MEMCACHED_SUCCESS) unexpected("incr", k, rc);
        if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
            try {  // undo, so that a failed incr changes nothing (best effort)
                run("incr", k, Retry::no, [&](memcached_st* mc) {
                    std::uint64_t ignored = 0;
                    return memcached_decrement_with_initial(mc, k.data(), k.size(), by, 0, exp, &ignored);
                });
            } catch (const Unavailable&) {
            }
            throw std::invalid_argument("kv incr: integer overflow");
        }
        return static_cast<std::int64_t>(value);
    }

    // Asks every server (each on a new connection, so that it proves the server is
    // reachable now); at most about connect_timeout + timeout per server.
    void check() override {
        std::string failures;
        std::size_t failed = 0;
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            Node* node = nodes_[i].get();
            const auto started = Clock::now();
            McPtr mc = make_client({options_.servers[i]}, options_.net);
            std::size_t length = 0;
            std::uint32_t flags = 0;
            memcached_return_t rc = MEMCACHED_SUCCESS;
            std::free(memcached_get(mc.get(), "~check", 6, &length, &flags, &rc));
            if (rc == MEMCACHED_SUCCESS || rc == MEMCACHED_NOTFOUND) {
                node->breaker.succeeded();
                continue;
            }
            const std::string error = error_text(mc.get(), rc, options_.net);
            if (memcached_last_error_errno(mc.get()) != ECONNREFUSED) node->breaker.failed(error, started);
            failures += (failed++ ? ", " : "") + node->name + " (" + error + ")";
        }
        if (failed) {
            throw Unavailable("memcached: " + std::to_string(failed) + " of " + std::to_string(nodes_.size()) +
                              " servers unreachable: " + failures);
        }
    }

    std::string describe() const override {
        std::string out = "memcached://";
        for (std::size_t i = 0; i < options_.servers.size(); ++i) {
            out += (i ? "," : "") + options_.servers[i].text();
        }
        return out + "?" + options_.net.query();
    }

private:
    struct Node {
        Node(std::string n, std::chrono::milliseconds retry) : name(std::move(n)), breaker(retry) {}
        std::string name;
        Breaker breaker;
    };

    memcached_st* clone() {
        std::lock_guard lock(clone_mutex_);  // memcached_clone reads the master
        McPtr mc(memcached_clone(nullptr, master_.get()), &memcached_free);
        if (!mc) throw Unavailable("memcached: cannot allocate a client");
        // libmemcached 1.1.4's clone drops KETAMA_WEIGHTED (and so do libmemcachedutil's
        // pools, which clone): the clone would build a different ring and put about half
        // the keys on other servers than every unpooled client. Set it again.
        if (memcached_behavior_set(mc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != MEMCACHED_SUCCESS) {
            throw Unavailable("memcached: cannot configure a client");
        }
        return mc.release();
    }

    std::size_t node_of(memcached_st* mc, const std::string& key) const {
        memcached_return_t rc = MEMCACHED_SUCCESS;
        const memcached_instance_st* server = memcached_server_by_key(mc, key.data(), key.size(), &rc);
        for (std::size_t i = 0; i < nodes_.size(); ++i) {
            if (memcached_server_instance_by_position(mc, static_cast<std::uint32_t>(i)) == server) return i;
        }
        return 0;
    }

    // Runs op on a leased client and sorts out its result: answers are returned (as is
    // `passed`, a failure code the caller looks into itself); anything else throws
    // Unavailable. A call that failed on a reused connection, other than by a timeout, may
    // have met a connection the server closed while it sat in the pool (the server was
    // restarted): with Retry::yes it is tried once more on a new connection, and only a
    // failure on a new connection (or a timeout) marks the server down.
    template <class Op>
    memcached_return_t run(const char* what, const std::string& key, Retry retry, Op&& op,
                           memcached_return_t passed = MEMCACHED_SUCCESS) {
        const auto started = Clock::now();
        const auto deadline = started + options_.net.timeout;
        bool fresh = false;
        for (int attempt = 0;; ++attempt) {
            auto lease = pool_.acquire(deadline, [this] { return clone(); }, fresh, "memcached");
            Node& node = *nodes_[node_of(lease.get(), key)];
            if (!node.breaker.allow()) {
                lease.keep();  // the client is fine; its call was not made
                throw Unavailable("memcached " + node.name + ": " + what + ": server marked down for " +
                                  std::to_string(options_.net.retry.count()) + " ms after: " +
                                  node.breaker.last_error());
            }
            const memcached_return_t rc = op(lease.get());
            if (answered(rc)) {
                lease.keep();
                node.breaker.succeeded();
                return rc;
            }
            const std::string error = error_text(lease.get(), rc, options_.net);
            const bool refused = memcached_last_error_errno(lease.get()) == ECONNREFUSED;
            const bool was_fresh = lease.fresh();
            lease.discard();  // a late answer may still be on its way on that connection
            if (rc == passed && rc != MEMCACHED_SUCCESS) {
                node.breaker.inconclusive();
                return rc;
            }
            if (refused_request(rc)) {
                node.breaker.inconclusive();
                throw Unavailable("memcached " + node.name + ": " + what + ": " + error);
            }
            if (rc != MEMCACHED_TIMEOUT && !was_fresh) {
                node.breaker.inconclusive();
                if (retry == Retry::yes && attempt == 0) {
                    fresh = true;
                    continue;
                }
                throw Unavailable("memcached " + node.name + ": " + what + ": " + error);
            }
            if (refused) node.breaker.inconclusive();  // nothing listens: cheap to find out again
            else node.breaker.failed(error, started);
            throw Unavailable("memcached " + node.name + ": " + what + ": " + error);
        }
    }

    [[noreturn]] void unexpected(const char* what, const std::string&, memcached_return_t rc) const {
        throw Unavailable(std::string("memcached: ") + what + ": unexpected answer " +
                          memcached_strerror(master_.get(), rc));
    }

    const MemcachedOptions options_;
    std::vector<std::unique_ptr<Node>> nodes_;  // in the order of options_.servers
    McPtr master_;                               // configured once, only cloned
    std::mutex clone_mutex_;
    Pool<memcached_st> pool_;
};

}  // namespace

std::unique_ptr<Store> open_memcached(MemcachedOptions options) {
    if (options.servers.empty()) throw std::invalid_argument("memcached:// URL lists no servers");
    return std::make_unique<MemcachedStore>(std::move(options));
}

}  // namespace detail

std::string memcached_server_for(const std::string& url, std::string_view key) {
    constexpr std::string_view scheme = "memcached://";
    if (url.compare(0, scheme.size(), scheme) != 0) {
        throw std::invalid_argument("memcached_server_for needs a memcached:// URL");
    }
    const auto options = detail::parse_memcached_url(std::string_view(url).substr(scheme.size()));
    auto mc = detail::make_client(options.servers, options.net);
    const std::string k = detail::memcached_key(key);
    memcached_return_t rc = MEMCACHED_SUCCESS;
    const memcached_instance_st* server = memcached_server_by_key(mc.get(), k.data(), k.size(), &rc);
    if (!server) throw std::runtime_error("memcached: no server for the key");
    return detail::Endpoint{memcached_server_name(server), memcached_server_port(server)}.text();
}

}  // namespace photoshare::kv
