/* xdp_dump's base step, correct, in another style (see ../legacy_bytes.h):
 * reports a SYN without ACK. */
#define REPORTS(f) (((f) & (TCP_SYN | TCP_ACK)) == TCP_SYN)
#define HEADERS_ONLY 0
#include "../legacy_bytes.h"
