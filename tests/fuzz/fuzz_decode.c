/* fuzz_decode: libFuzzer target for decoding what a runtime sends back: the
 * first byte picks a CRI method (RuntimeService and ImageService), the rest is
 * unpacked as its reply message (protobuf-c with critic's generated
 * descriptors), then packed again and re-read; everything decoded is freed. */
#include <protobuf-c/protobuf-c.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cri.pb-c.h"

static const ProtobufCServiceDescriptor *const services[] = {
	&runtime__v1__runtime_service__descriptor,
	&runtime__v1__image_service__descriptor,
};

/* The pick'th method of both services, wrapping around. */
static const ProtobufCMethodDescriptor *method(unsigned pick)
{
	unsigned total = 0;
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++)
		total += services[i]->n_methods;
	pick %= total;
	for (size_t i = 0; i < sizeof services / sizeof services[0]; i++) {
		if (pick < services[i]->n_methods)
			return &services[i]->methods[pick];
		pick -= services[i]->n_methods;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* The top bit decodes the request type instead: a runtime never sends
	 * one, but the same decoder reads them in critic's fake servers. */
	const ProtobufCMethodDescriptor *m = method(data[0] & 0x7f);
	const ProtobufCMessageDescriptor *d = data[0] & 0x80 ? m->input : m->output;
	ProtobufCMessage *msg = protobuf_c_message_unpack(d, NULL, size - 1, data + 1);
	if (!msg)
		return 0;
	if (!protobuf_c_message_check(msg))
		abort();
	/* What decoded packs again, and that reads back. */
	size_t n = protobuf_c_message_get_packed_size(msg);
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		abort();
	if (protobuf_c_message_pack(msg, buf) != n)
		abort();
	/* Reading that back may fail: protobuf-c 1.4.1 accepts field number 0
	 * when its tag takes two bytes (80 00), keeps it as an unknown field,
	 * writes it back as 00 and then refuses its own output. critic never
	 * re-packs a reply, so only what does read back is checked: it packs
	 * to the very same bytes. */
	ProtobufCMessage *again = protobuf_c_message_unpack(d, NULL, n, buf);
	if (again) {
		size_t n2 = protobuf_c_message_get_packed_size(again);
		uint8_t *buf2 = malloc(n2 ? n2 : 1);
		if (!buf2 || n2 != n || protobuf_c_message_pack(again, buf2) != n || memcmp(buf, buf2, n))
			abort();
		free(buf2);
		protobuf_c_message_free_unpacked(again, NULL);
	}
	free(buf);
	protobuf_c_message_free_unpacked(msg, NULL);
	return 0;
}
