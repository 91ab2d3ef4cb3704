/* The baseline for bench_lv2.py: one LV2 plugin through lilv directly, in C, on blocks of 32 frames.
   Build: gcc -O2 -o lv2_direct lv2_direct.c $(pkg-config --cflags --libs lilv-0)
   Run:   ./lv2_direct URI CHANNELS BLOCKS   -> prints nanoseconds per run() of 32 frames */
#include <lilv/lilv.h>
#include <lv2/urid/urid.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char* uris[4096];
static int n_uris = 0;
static LV2_URID map(LV2_URID_Map_Handle h, const char* uri) {
  for (int i = 0; i < n_uris; i++) if (!strcmp(uris[i], uri)) return i + 1;
  uris[n_uris] = strdup(uri);
  return ++n_uris;
}

int main(int argc, char** argv) {
  const char* uri = argv[1];
  int ch = atoi(argv[2]), blocks = atoi(argv[3]), F = 32;
  LilvWorld* w = lilv_world_new();
  lilv_world_load_all(w);
  LilvNode* u = lilv_new_uri(w, uri);
  const LilvPlugin* p = lilv_plugins_get_by_uri(lilv_world_get_all_plugins(w), u);
  LV2_URID_Map m = {NULL, map};
  LV2_Feature mf = {LV2_URID__map, &m};
  const LV2_Feature* feats[] = {&mf, NULL};
  LilvInstance* inst = lilv_plugin_instantiate(p, 48000.0, feats);
  uint32_t np = lilv_plugin_get_num_ports(p);
  float* controls = calloc(np, sizeof(float));
  float *mins = calloc(np, sizeof(float)), *maxs = calloc(np, sizeof(float)), *defs = calloc(np, sizeof(float));
  lilv_plugin_get_port_ranges_float(p, mins, maxs, defs);
  float* audio = calloc((size_t)np * F, sizeof(float));
  static uint64_t atoms[64][1024];
  LilvNode* audio_c = lilv_new_uri(w, LV2_CORE__AudioPort);
  LilvNode* control_c = lilv_new_uri(w, LV2_CORE__ControlPort);
  for (uint32_t i = 0; i < np; i++) {
    const LilvPort* port = lilv_plugin_get_port_by_index(p, i);
    if (lilv_port_is_a(p, port, audio_c)) lilv_instance_connect_port(inst, i, audio + (size_t)i * F);
    else if (lilv_port_is_a(p, port, control_c)) { controls[i] = defs[i] == defs[i] ? defs[i] : 0; lilv_instance_connect_port(inst, i, &controls[i]); }
    else { atoms[i][0] = ((uint64_t)map(NULL, "http://lv2plug.in/ns/ext/atom#Sequence") << 32) | 8; lilv_instance_connect_port(inst, i, atoms[i]); }
  }
  for (int i = 0; i < np * F; i++) audio[i] = (float)((i * 7919) % 1000) / 4000.0f;
  lilv_instance_activate(inst);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int b = 0; b < blocks; b++) lilv_instance_run(inst, F);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec);
  printf("%.1f\n", ns / blocks);
  (void)ch;
  lilv_instance_deactivate(inst);
  lilv_instance_free(inst);
  return 0;
}
