/* xdp_dump's headers step, correct, in another style (see ../load_bytes.h):
 * reports a SYN without ACK, headers only. */
#define REPORTS(syn, ack) ((syn) && !(ack))
#define HEADERS_ONLY 1
#include "../load_bytes.h"
