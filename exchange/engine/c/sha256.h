/* SHA-256 (FIPS 180-4), one-shot, for the engine's per-order digest parts, without crypto
 * headers or libraries: a plain portable implementation, and on x86-64 CPUs with the SHA
 * extensions (chosen once, at run time, by CPUID) the same compression with the SHA-NI
 * instructions, about ten times faster (a resting order's part is two blocks). Both are checked
 * against hashlib by tests/engine/test_digest_parts.py. */
#ifndef EXCHANGE_SHA256_H
#define EXCHANGE_SHA256_H
#include <stdint.h>
#include <string.h>

static const uint32_t exchange_sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define EXCHANGE_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void exchange_sha256_block(uint32_t *h, const unsigned char *p) {
    uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = ((uint32_t)p[4 * i] << 24) | ((uint32_t)p[4 * i + 1] << 16) |
               ((uint32_t)p[4 * i + 2] << 8) | (uint32_t)p[4 * i + 3];
    for (i = 16; i < 64; i++) {
        uint32_t s0 = EXCHANGE_ROR(w[i - 15], 7) ^ EXCHANGE_ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = EXCHANGE_ROR(w[i - 2], 17) ^ EXCHANGE_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4]; f = h[5]; g = h[6]; hh = h[7];
    for (i = 0; i < 64; i++) {
        t1 = hh + (EXCHANGE_ROR(e, 6) ^ EXCHANGE_ROR(e, 11) ^ EXCHANGE_ROR(e, 25)) +
             ((e & f) ^ (~e & g)) + exchange_sha256_k[i] + w[i];
        t2 = (EXCHANGE_ROR(a, 2) ^ EXCHANGE_ROR(a, 13) ^ EXCHANGE_ROR(a, 22)) +
             ((a & b) ^ (a & c) ^ (b & c));
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define EXCHANGE_SHA256_NI 1
#include <cpuid.h>
#include <immintrin.h>

/* The compression of `blocks` 64-byte blocks with the SHA-NI instructions. The state is kept
 * as ABEF/CDGH, as sha256rnds2 wants it; each step does four rounds (two per rnds2), the
 * message schedule four words at a time (msg1, alignr, msg2) in a ring of four vectors. */
__attribute__((target("sha,sse4.1,ssse3")))
static void exchange_sha256_blocks_ni(uint32_t *h, const unsigned char *p, size_t blocks) {
    const __m128i mask = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);  /* CDAB */
    __m128i state1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B); /* EFGH */
    __m128i state0 = _mm_alignr_epi8(tmp, state1, 8);     /* ABEF */
    __m128i abef, cdgh, msg, x, w[4];
    int g;
    state1 = _mm_blend_epi16(state1, tmp, 0xF0);          /* CDGH */
    for (; blocks; blocks--, p += 64) {
        abef = state0;
        cdgh = state1;
        for (g = 0; g < 16; g++) {
            if (g < 4) {
                x = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * g)), mask);
            } else {  /* w[g&3] holds words 4g-16.., w[(g+1)&3] 4g-12.., w[(g+3)&3] 4g-4.. */
                x = _mm_add_epi32(_mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]),
                                  _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                x = _mm_sha256msg2_epu32(x, w[(g + 3) & 3]);
            }
            w[g & 3] = x;
            msg = _mm_add_epi32(x, _mm_loadu_si128((const __m128i *)&exchange_sha256_k[4 * g]));
            state1 = _mm_sha256rnds2_epu32(state1, state0, msg);
            state0 = _mm_sha256rnds2_epu32(state0, state1, _mm_shuffle_epi32(msg, 0x0E));
        }
        state0 = _mm_add_epi32(state0, abef);
        state1 = _mm_add_epi32(state1, cdgh);
    }
    tmp = _mm_shuffle_epi32(state0, 0x1B);                 /* FEBA */
    state1 = _mm_shuffle_epi32(state1, 0xB1);              /* DCHG */
    state0 = _mm_blend_epi16(tmp, state1, 0xF0);           /* DCBA */
    state1 = _mm_alignr_epi8(state1, tmp, 8);              /* HGFE */
    _mm_storeu_si128((__m128i *)&h[0], state0);
    _mm_storeu_si128((__m128i *)&h[4], state1);
}

/* 1 if this CPU has the SHA extensions and SSE4.1/SSSE3 (asked once), else 0. */
static int exchange_sha256_ni_usable(void) {
    static int known = -1;
    unsigned int a, b, c, d;
    if (known < 0) {
        known = 0;
        if (__get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 19)) && (c & (1u << 9)) &&
            __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & (1u << 29)))
            known = 1;
    }
    return known;
}
#else
#define EXCHANGE_SHA256_NI 0
static void exchange_sha256_blocks_ni(uint32_t *h, const unsigned char *p, size_t blocks) {
    (void)h; (void)p; (void)blocks;
}
static int exchange_sha256_ni_usable(void) { return 0; }
#endif

/* Where set (tests), the portable compression is used even where SHA-NI is usable. */
static int exchange_sha256_portable_only = 0;

static void exchange_sha256_blocks(uint32_t *h, const unsigned char *p, size_t blocks) {
    if (!exchange_sha256_portable_only && exchange_sha256_ni_usable()) {
        exchange_sha256_blocks_ni(h, p, blocks);
        return;
    }
    for (; blocks; blocks--, p += 64) exchange_sha256_block(h, p);
}

/* The SHA-256 of data[0:n] as four 64-bit limbs, most significant first: the digest read as
 * one big-endian 256-bit integer (int.from_bytes(sha256(data).digest(), "big")). */
static void exchange_sha256_limbs(const unsigned char *data, size_t n, uint64_t *out) {
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    unsigned char tail[128];
    size_t full = n / 64 * 64, rest = n - full, pad;
    uint64_t bits = (uint64_t)n * 8;
    size_t i;
    exchange_sha256_blocks(h, data, full / 64);
    memcpy(tail, data + full, rest);
    tail[rest] = 0x80;
    pad = rest < 56 ? 64 : 128;
    memset(tail + rest + 1, 0, pad - rest - 1);
    for (i = 0; i < 8; i++) tail[pad - 1 - i] = (unsigned char)(bits >> (8 * i));
    exchange_sha256_blocks(h, tail, pad / 64);
    for (i = 0; i < 4; i++) out[i] = ((uint64_t)h[2 * i] << 32) | h[2 * i + 1];
}
#endif
