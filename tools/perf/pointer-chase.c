/*
 * Load latency by working-set size: one dependent load per 64-byte line, the lines
 * visited in one random cycle, so neither the prefetchers nor out-of-order execution can
 * hide a miss. Tells hosts apart: see docs/performance.md, "The host changed".
 *
 * Build and run (needs a C compiler; not part of the icsim build):
 *   gcc -O2 -o /tmp/pointer-chase tools/perf/pointer-chase.c && /tmp/pointer-chase
 *   /tmp/pointer-chase --huge     # ask for transparent huge pages (madvise)
 *
 * Prints one line per working set, 64 KiB to 256 MiB: the mean latency of a load.
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define LINE 64
#define LOADS 20000000L

static uint64_t next_random(uint64_t *state) {
  /* xorshift64*: enough to shuffle, and the same cycle on every host. */
  uint64_t x = *state;
  x ^= x >> 12;
  x ^= x << 25;
  x ^= x >> 27;
  *state = x;
  return x * 0x2545F4914F6CDD1DULL;
}

static double chase(size_t bytes, int huge) {
  const size_t huge_page = 2 << 20;
  size_t lines = bytes / LINE;
  /* aligned_alloc wants a size that is a multiple of the alignment. */
  size_t allocated = (lines * LINE + huge_page - 1) / huge_page * huge_page;
  uint64_t *memory = aligned_alloc(huge_page, allocated);
  size_t *order = malloc(lines * sizeof *order);
  if (memory == NULL || order == NULL) {
    fprintf(stderr, "pointer-chase: out of memory at %zu bytes\n", bytes);
    exit(2);
  }
  if (huge) madvise(memory, allocated, MADV_HUGEPAGE);
  uint64_t state = 0x9E3779B97F4A7C15ULL;
  for (size_t i = 0; i < lines; i++) order[i] = i;
  for (size_t i = lines - 1; i > 0; i--) {
    size_t j = next_random(&state) % (i + 1);
    size_t t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  /* Each line holds the index (in words) of the next line of the cycle. */
  for (size_t i = 0; i < lines; i++)
    memory[order[i] * (LINE / 8)] = order[(i + 1) % lines] * (LINE / 8);
  struct timespec start, end;
  size_t at = 0;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long i = 0; i < LOADS; i++) at = memory[at];
  clock_gettime(CLOCK_MONOTONIC, &end);
  double ns = (end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec);
  if (at == SIZE_MAX) puts(""); /* keeps the chase from being optimised away */
  free(memory);
  free(order);
  return ns / LOADS;
}

int main(int argc, char **argv) {
  int huge = argc > 1 && strcmp(argv[1], "--huge") == 0;
  if (argc > 1 && !huge) {
    fprintf(stderr, "usage: pointer-chase [--huge]\n");
    return 2;
  }
  printf("working set  latency (%s pages)\n", huge ? "huge" : "default");
  for (size_t kib = 64; kib <= 256 * 1024; kib *= 2)
    printf("%8zu KiB  %6.1f ns\n", kib, chase(kib * 1024, huge));
  return 0;
}
