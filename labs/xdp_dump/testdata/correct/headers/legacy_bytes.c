/* xdp_dump's headers step, correct, in another style (see ../legacy_bytes.h):
 * reports a SYN without ACK, headers only. */
#define REPORTS(f) (((f) & (TCP_SYN | TCP_ACK)) == TCP_SYN)
#define HEADERS_ONLY 1
#include "../legacy_bytes.h"
