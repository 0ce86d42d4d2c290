/* xdp_dump's syn_ack step, correct, in another style (see ../load_bytes.h):
 * reports a SYN-ACK. */
#define REPORTS(syn, ack) ((syn) && (ack))
#define HEADERS_ONLY 0
#include "../load_bytes.h"
