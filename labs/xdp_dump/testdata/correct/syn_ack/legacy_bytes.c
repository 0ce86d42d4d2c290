/* xdp_dump's syn_ack step, correct, in another style (see ../legacy_bytes.h):
 * reports a SYN-ACK. */
#define REPORTS(f) (((f) & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK))
#define HEADERS_ONLY 0
#include "../legacy_bytes.h"
