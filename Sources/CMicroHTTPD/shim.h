#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <string.h>
#include <stdint.h>
#include <microhttpd.h>

/// Starts a daemon bound to 127.0.0.1 only, one thread per connection (so a handler may block to inject latency);
/// Swift cannot call the variadic MHD_start_daemon. poll(), not select(): in a process holding more than
/// FD_SETSIZE (1024) descriptors, select() cannot watch the socket, so the daemon failed to start or dropped
/// connections at once (a test process running many sandboxes and sessions in parallel got there).
static inline struct MHD_Daemon *cf_mhd_start_loopback(uint16_t port,
                                                      MHD_AccessHandlerCallback handler, void *handler_cls,
                                                      MHD_RequestCompletedCallback completed, void *completed_cls) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL | MHD_USE_ERROR_LOG,
                            port, NULL, NULL, handler, handler_cls,
                            MHD_OPTION_SOCK_ADDR, (const struct sockaddr *)&address,
                            MHD_OPTION_NOTIFY_COMPLETED, completed, completed_cls,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
                            MHD_OPTION_END);
}

static inline uint16_t cf_mhd_bound_port(struct MHD_Daemon *d) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    return info ? info->port : 0;
}

/// The content-reader return values are macros with casts, which Swift does not import.
static inline ssize_t cf_mhd_reader_end_of_stream(void) { return MHD_CONTENT_READER_END_OF_STREAM; }
static inline ssize_t cf_mhd_reader_end_with_error(void) { return MHD_CONTENT_READER_END_WITH_ERROR; }
