/*
 * repr.c -- Python's repr of values, without recursion.
 *
 * Containers are printed with an explicit stack, so nesting as deep as
 * memory allows neither crashes nor overflows the C stack; an object
 * already being printed shows as [...], {...} or (...), as in Python.
 * Nothing here runs host code.
 */
#include "pygc_int.h"

#include <math.h>
#include <stdlib.h>

static int buf_reserve(pygc_heap *h, pygc_buf *b, size_t extra) {
  if (b->len + extra + 1 <= b->cap) return PYGC_OK;
  size_t ncap = b->cap ? b->cap : 64;
  while (ncap < b->len + extra + 1) {
    if (ncap > ((size_t)-1) / 2) return PYGC_EOVERFLOW;
    ncap *= 2;
  }
  char *n = pygc__heap_realloc(h, b->data, b->cap, ncap);
  if (n == NULL) return PYGC_ENOMEM;
  h->scratch_bytes += ncap - b->cap;
  b->data = n;
  b->cap = ncap;
  return PYGC_OK;
}

static int buf_add(pygc_heap *h, pygc_buf *b, const char *s, size_t n) {
  int st = buf_reserve(h, b, n);
  if (st) return st;
  memcpy(b->data + b->len, s, n);
  b->len += n;
  b->data[b->len] = '\0';
  return PYGC_OK;
}

static int buf_adds(pygc_heap *h, pygc_buf *b, const char *s) { return buf_add(h, b, s, strlen(s)); }

void pygc_buf_free(pygc_heap *h, pygc_buf *b) {
  pygc__heap_free_mem(h, b->data, b->cap);
  h->scratch_bytes -= b->cap;
  b->data = NULL;
  b->len = b->cap = 0;
}

/* Python's float repr: the shortest digits that round-trip, in fixed
 * notation when -4 <= exponent < 16, else scientific. */
static void format_double(double d, char *out, size_t outsz) {
  if (isnan(d)) {
    snprintf(out, outsz, "nan");
    return;
  }
  if (isinf(d)) {
    snprintf(out, outsz, d > 0 ? "inf" : "-inf");
    return;
  }
  char tmp[40];
  int p;
  for (p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, d);
    if (strtod(tmp, NULL) == d) break;
  }
  /* tmp is [-]D[.DDD]e[+-]XX */
  char digits[24];
  size_t nd = 0;
  const char *s = tmp;
  int neg = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  for (; *s && *s != 'e'; s++)
    if (*s >= '0' && *s <= '9') digits[nd++] = *s;
  int exp = atoi(s + 1);
  while (nd > 1 && digits[nd - 1] == '0') nd--;
  digits[nd] = '\0';
  char *o = out;
  size_t left = outsz;
#define PUT(c)                                                                                                         \
  do {                                                                                                                 \
    if (left > 1) {                                                                                                    \
      *o++ = (c);                                                                                                      \
      left--;                                                                                                          \
    }                                                                                                                  \
  } while (0)
  if (neg) PUT('-');
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      PUT('0');
      PUT('.');
      for (int i = -1; i > exp; i--) PUT('0');
      for (size_t i = 0; i < nd; i++) PUT(digits[i]);
    } else {
      for (int i = 0; i <= exp; i++) PUT((size_t)i < nd ? digits[i] : '0');
      PUT('.');
      if ((size_t)exp + 1 < nd)
        for (size_t i = (size_t)exp + 1; i < nd; i++) PUT(digits[i]);
      else
        PUT('0');
    }
    *o = '\0';
  } else {
    PUT(digits[0]);
    if (nd > 1) {
      PUT('.');
      for (size_t i = 1; i < nd; i++) PUT(digits[i]);
    }
    *o = '\0';
    snprintf(o, left, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
  }
#undef PUT
}

static int repr_str(pygc_heap *h, pygc_buf *b, const str_obj *s) {
  int has_sq = memchr(s->data, '\'', s->len) != NULL;
  int has_dq = memchr(s->data, '"', s->len) != NULL;
  char q = has_sq && !has_dq ? '"' : '\'';
  int st = buf_add(h, b, &q, 1);
  for (size_t i = 0; i < s->len && st == PYGC_OK; i++) {
    unsigned char c = (unsigned char)s->data[i];
    char esc[8];
    if (c == (unsigned char)q || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      st = buf_add(h, b, esc, 2);
    } else if (c == '\n') {
      st = buf_add(h, b, "\\n", 2);
    } else if (c == '\r') {
      st = buf_add(h, b, "\\r", 2);
    } else if (c == '\t') {
      st = buf_add(h, b, "\\t", 2);
    } else if (c < 0x20 || c == 0x7f) {
      snprintf(esc, sizeof esc, "\\x%02x", c);
      st = buf_add(h, b, esc, 4);
    } else {
      st = buf_add(h, b, (const char *)&c, 1);
    }
  }
  if (st == PYGC_OK) st = buf_add(h, b, &q, 1);
  return st;
}

/* atomic values and objects printed without descending */
static int repr_leaf(pygc_heap *h, pygc_buf *b, pygc_value v) {
  char tmp[64];
  switch (v.tag) {
  case PYGC_TNONE: return buf_adds(h, b, "None");
  case PYGC_TBOOL: return buf_adds(h, b, v.u.b ? "True" : "False");
  case PYGC_TINT: snprintf(tmp, sizeof tmp, "%lld", (long long)v.u.i); return buf_adds(h, b, tmp);
  case PYGC_TFLOAT: format_double(v.u.f, tmp, sizeof tmp); return buf_adds(h, b, tmp);
  default: break;
  }
  pygc_object *o = v.u.o;
  if (o->type == &pygc_str_type) return repr_str(h, b, (const str_obj *)o);
  if (o->type == &pygc_class_type) {
    int st = buf_adds(h, b, "<class '");
    if (st == PYGC_OK) st = buf_adds(h, b, pygc_class_name(o));
    return st ? st : buf_adds(h, b, "'>");
  }
  if (o->type->repr) {
    char own[128];
    own[0] = 0;
    o->type->repr(o, own, sizeof own);
    own[sizeof own - 1] = 0;
    return buf_adds(h, b, own);
  }
  int st = buf_adds(h, b, "<");
  if (st == PYGC_OK) st = buf_adds(h, b, pygc_type_name(v));
  snprintf(tmp, sizeof tmp, " object at %p>", (void *)o);
  return st ? st : buf_adds(h, b, tmp);
}

typedef struct frame {
  pygc_object *o;
  size_t pos;
  int state; /* dict: 0 before an entry, 1 between key and value */
  int first;
} frame;

static int is_container(const pygc_object *o) {
  return o->type == &pygc_list_type || o->type == &pygc_dict_type || o->type == &pygc_tuple_type;
}

int pygc_repr(pygc_heap *h, pygc_value v, pygc_buf *b) { return pygc_repr_limited(h, v, b, (size_t)-1); }

int pygc_repr_limited(pygc_heap *h, pygc_value v, pygc_buf *b, size_t maxlen) {
  if (v.tag != PYGC_TOBJ || !is_container(v.u.o)) return repr_leaf(h, b, v);
  size_t start = b->len;
  frame *stack = NULL;
  size_t depth = 0, cap = 0;
  int st = PYGC_OK;
  pygc_value next = v;
  int have_next = 1;
  for (;;) {
    if (have_next) {
      have_next = 0;
      if (next.tag != PYGC_TOBJ || !is_container(next.u.o)) {
        st = repr_leaf(h, b, next);
      } else {
        pygc_object *o = next.u.o;
        const char *open = o->type == &pygc_list_type ? "[" : o->type == &pygc_dict_type ? "{" : "(";
        if (o->flags & F_MARK) {
          st = buf_adds(h, b, o->type == &pygc_list_type ? "[...]" : o->type == &pygc_dict_type ? "{...}" : "(...)");
        } else {
          if (depth == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            frame *n = pygc__heap_realloc(h, stack, cap * sizeof *stack, ncap * sizeof *stack);
            if (n == NULL) {
              st = PYGC_ENOMEM;
              break;
            }
            stack = n;
            cap = ncap;
          }
          o->flags |= F_MARK;
          stack[depth++] = (frame){o, 0, 0, 1};
          st = buf_adds(h, b, open);
        }
      }
      if (st) break;
    }
    if (depth == 0) break;
    if (b->len - start > maxlen) { /* shared substructure can make repr exponential */
      st = PYGC_EOVERFLOW;
      break;
    }
    frame *f = &stack[depth - 1];
    pygc_object *o = f->o;
    if (o->type == &pygc_list_type || o->type == &pygc_tuple_type) {
      int is_list = o->type == &pygc_list_type;
      size_t len = is_list ? ((list_obj *)o)->len : ((tuple_obj *)o)->len;
      if (f->pos < len) {
        if (!f->first) st = buf_adds(h, b, ", ");
        f->first = 0;
        next = is_list ? ((list_obj *)o)->items[f->pos] : ((tuple_obj *)o)->items[f->pos];
        f->pos++;
        have_next = 1;
      } else {
        st = buf_adds(h, b, is_list ? "]" : len == 1 ? ",)" : ")");
        o->flags &= ~F_MARK;
        depth--;
      }
    } else { /* dict */
      table *t = &((dict_obj *)o)->t;
      if (f->state == 1) {
        st = buf_adds(h, b, ": ");
        next = tab_entries(t)[f->pos - 1].value;
        f->state = 0;
        have_next = 1;
      } else {
        pygc_value k;
        if (pygc__tab_next(t, &f->pos, &k, NULL)) {
          if (!f->first) st = buf_adds(h, b, ", ");
          f->first = 0;
          next = k;
          f->state = 1;
          have_next = 1;
        } else {
          st = buf_adds(h, b, "}");
          o->flags &= ~F_MARK;
          depth--;
        }
      }
    }
    if (st) break;
  }
  while (depth > 0) stack[--depth].o->flags &= ~F_MARK;
  pygc__heap_free_mem(h, stack, cap * sizeof *stack);
  return st;
}
