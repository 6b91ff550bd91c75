// Loopback ports for the servers a test starts.
#pragma once

namespace pstest {

// A TCP port on 127.0.0.1 that was free a moment ago (one the kernel picked).
int free_port();

// A base port P with P..P+count-1 free, below the ephemeral range (so that no client socket
// takes one of them meanwhile), P a multiple of 20 in 20000..31980.
int pick_ports(int count);

// Whether 127.0.0.1:port can be bound now.
bool port_free(int port);

}  // namespace pstest
