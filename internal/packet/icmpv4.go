package packet

// Checksum is the Internet checksum of b (RFC 1071): the one's complement
// of the one's complement sum of its 16-bit words. Over a header or a
// message that holds its own checksum, it is 0 when that checksum is right.
func Checksum(b []byte) uint16 { return fold(sum(b, 0)) }
