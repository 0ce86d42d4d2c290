/* The tutorial's redirect program with a one-entry DEVMAP, as a learner
 * writes it after an example that redirects to key 0: no real ifindex fits,
 * and `up redirect --obj` must say so instead of failing silently. */
#define IF_REDIRECT_ENTRIES 1
#include "legacy_redirect.c"
