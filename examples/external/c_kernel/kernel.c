/*
 * kernel.c: softmax, log-softmax and log-sum-exp in C float and double, served to ulpcheck
 * over the ulpcheck-kernel/1 protocol (docs/protocol.md) on stdin/stdout.
 *
 *     cc -O2 -o c_kernel examples/external/c_kernel/kernel.c -lm
 *     go run ./cmd/fuzz run -exec ./c_kernel
 *
 * Every kernel is the two-pass max-shifted algorithm (Blanchard, Higham & Higham, Alg. 4.1
 * without log1p): m = max x, e_j = exp(x_j - m), s = sum e_j in the element type, then
 * e_j / s, (x_j - m) - log(s) or m + log(s). The float kernels call expf and logf and keep
 * every intermediate in float (compile without -ffast-math; FLT_EVAL_METHOD 0 is assumed,
 * as on x86-64 and AArch64). A row with a +Inf gives NaN (inf - inf) and a fully masked
 * row gives NaN, the literal formula's answer. Frames are assembled byte by byte, so the
 * program is independent of the host's byte order.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAME (64u << 20)
#define HEAD 36

enum { OP_SOFTMAX = 1, OP_LOGSOFTMAX = 2, OP_LSE = 3 };
enum { FMT_FP32 = 3, FMT_FP64 = 4 };

static const struct { uint8_t op, fmt; const char *name, *doc; } kernels[] = {
	{OP_SOFTMAX, FMT_FP32, "c/softmax/fp32", "C float: expf(x - max) / sum, two passes"},
	{OP_SOFTMAX, FMT_FP64, "c/softmax/fp64", "C double: exp(x - max) / sum, two passes"},
	{OP_LOGSOFTMAX, FMT_FP32, "c/logsoftmax/fp32", "C float: (x - max) - logf(sum expf(x - max))"},
	{OP_LOGSOFTMAX, FMT_FP64, "c/logsoftmax/fp64", "C double: (x - max) - log(sum exp(x - max))"},
	{OP_LSE, FMT_FP32, "c/lse/fp32", "C float: max + logf(sum expf(x - max))"},
	{OP_LSE, FMT_FP64, "c/lse/fp64", "C double: max + log(sum exp(x - max))"},
};
#define NKERNELS (sizeof kernels / sizeof kernels[0])

/* A growable output buffer. */
static uint8_t *buf;
static size_t len, cap;

static void put(const void *p, size_t n) {
	if (len + n > cap) {
		cap = (len + n) * 2;
		buf = realloc(buf, cap);
		if (!buf) { fputs("c_kernel: out of memory\n", stderr); exit(2); }
	}
	memcpy(buf + len, p, n);
	len += n;
}
static void put_le(uint64_t v, int n) {
	for (int i = 0; i < n; i++) { uint8_t b = (uint8_t)(v >> (8 * i)); put(&b, 1); }
}
static void put_str(const char *s) { put_le(strlen(s), 4); put(s, strlen(s)); }
static uint64_t get_le(const uint8_t *p, int n) {
	uint64_t v = 0;
	for (int i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* send writes buf as one frame and resets it. */
static void send(void) {
	uint8_t h[8];
	for (int i = 0; i < 8; i++) h[i] = (uint8_t)((uint64_t)len >> (8 * i));
	if (fwrite(h, 1, 8, stdout) != 8 || fwrite(buf, 1, len, stdout) != len || fflush(stdout)) exit(1);
	len = 0;
}

static void answer_error(uint32_t id, uint8_t status, const char *msg) {
	put("A", 1); put_le(id, 4); put_le(status, 1); put_str(msg); send();
}

static float f32(const uint8_t *p) { uint32_t u = (uint32_t)get_le(p, 4); float f; memcpy(&f, &u, 4); return f; }
static double f64(const uint8_t *p) { uint64_t u = get_le(p, 8); double d; memcpy(&d, &u, 8); return d; }
static void put_f32(float f) { uint32_t u; memcpy(&u, &f, 4); put_le(u, 4); }
static void put_f64(double d) { uint64_t u; memcpy(&u, &d, 8); put_le(u, 8); }

static void rows_f32(int op, const uint8_t *x, uint32_t rows, uint32_t cols) {
	float *e = malloc(sizeof(float) * (cols ? cols : 1));
	for (uint32_t r = 0; r < rows; r++) {
		const uint8_t *row = x + (size_t)r * cols * 4;
		float m = -INFINITY, s = 0.0f;
		for (uint32_t j = 0; j < cols; j++) { float v = f32(row + 4 * j); if (v > m || isnan(v)) m = isnan(m) ? m : v; }
		for (uint32_t j = 0; j < cols; j++) { e[j] = expf(f32(row + 4 * j) - m); s += e[j]; }
		if (op == OP_LSE) { put_f32(m + logf(s)); continue; }
		float ls = logf(s);
		for (uint32_t j = 0; j < cols; j++) put_f32(op == OP_SOFTMAX ? e[j] / s : (f32(row + 4 * j) - m) - ls);
	}
	free(e);
}

static void rows_f64(int op, const uint8_t *x, uint32_t rows, uint32_t cols) {
	double *e = malloc(sizeof(double) * (cols ? cols : 1));
	for (uint32_t r = 0; r < rows; r++) {
		const uint8_t *row = x + (size_t)r * cols * 8;
		double m = -INFINITY, s = 0.0;
		for (uint32_t j = 0; j < cols; j++) { double v = f64(row + 8 * j); if (v > m || isnan(v)) m = isnan(m) ? m : v; }
		for (uint32_t j = 0; j < cols; j++) { e[j] = exp(f64(row + 8 * j) - m); s += e[j]; }
		if (op == OP_LSE) { put_f64(m + log(s)); continue; }
		double ls = log(s);
		for (uint32_t j = 0; j < cols; j++) put_f64(op == OP_SOFTMAX ? e[j] / s : (f64(row + 8 * j) - m) - ls);
	}
	free(e);
}

int main(void) {
	put("H", 1);
	put_str("ulpcheck-kernel/1");
	put_str("C (libm expf/exp, logf/log)");
	put_le(NKERNELS, 2);
	for (size_t i = 0; i < NKERNELS; i++) {
		uint8_t d[8] = {kernels[i].op, kernels[i].fmt, 0, 0, 0, 0, 0, 0};
		put(d, 8);
		put_str(kernels[i].name);
		put_str(kernels[i].doc);
	}
	send();

	uint8_t *p = NULL;
	for (;;) {
		uint8_t h[8];
		size_t got = fread(h, 1, 8, stdin);
		if (got == 0) return 0; /* end of input: the harness is done */
		if (got != 8) { fputs("c_kernel: truncated frame header\n", stderr); return 1; }
		uint64_t n = get_le(h, 8);
		if (n == 0 || n > MAX_FRAME) { fputs("c_kernel: frame length out of bounds\n", stderr); return 1; }
		p = realloc(p, n);
		if (!p || fread(p, 1, n, stdin) != n) { fputs("c_kernel: truncated frame\n", stderr); return 1; }
		if (n < HEAD || p[0] != 'Q') { fputs("c_kernel: not a request\n", stderr); return 1; }
		uint32_t id = (uint32_t)get_le(p + 1, 4);
		uint8_t op = p[7], fin = p[8], fout = p[9];
		uint32_t rows = (uint32_t)get_le(p + 10, 4), cols = (uint32_t)get_le(p + 14, 4);
		int w = fin == FMT_FP32 ? 4 : 8;
		if ((fin != FMT_FP32 && fin != FMT_FP64) || fout != fin || op < OP_SOFTMAX || op > OP_LSE) {
			answer_error(id, 2, "operation or format not served");
			continue;
		}
		if ((uint64_t)rows * cols * w > n - HEAD) { answer_error(id, 1, "request shorter than its shape"); continue; }
		uint64_t count = op == OP_LSE ? rows : (uint64_t)rows * cols;
		put("A", 1); put_le(id, 4); put_le(0, 1); put_le(count, 4);
		if (fin == FMT_FP32) rows_f32(op, p + HEAD, rows, cols);
		else rows_f64(op, p + HEAD, rows, cols);
		send();
	}
}
