/*
 * instance.c -- classes and their instances.
 *
 * A class is an untracked object holding a name, flags (finalizer, legacy)
 * and one word for the host (the binding keeps its Lua data there), and
 * the attribute names its instances share.  An instance holds its class
 * and its attributes (attrs.c).
 */
#include "pygc_int.h"

/* ---- class -------------------------------------------------------------- */

static void class_clear(pygc_heap *h, pygc_object *o) {
  class_obj *c = (class_obj *)o;
  pygc_object *name = c->name;
  c->name = NULL;
  if (name) pygc_decref(h, name);
  pygc__class_keys_release(h, c); /* the names its instances shared (attrs.c) */
}

static void class_free(pygc_heap *h, pygc_object *o) { pygc__class_keys_free(h, (class_obj *)o); }

/* nothing: its name (an OWNED edge of obj_visit) can never join a cycle */
static int class_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }

static size_t class_size(const pygc_object *o) { return sizeof(class_obj) + pygc__class_keys_bytes((const class_obj *)o); }

const pygc_type pygc_class_type = {
    .name = "type",
    .traverse = class_traverse,
    .dealloc = class_clear,
    .free = class_free,
    .size = class_size,
};

pygc_object *pygc_class_new(pygc_heap *h, const char *name, size_t len, unsigned flags) {
  pygc_object *s = pygc_str_new(h, name, len);
  if (s == NULL) return NULL;
  class_obj *c = (class_obj *)pygc__heap_new_object(h, &pygc_class_type, sizeof(class_obj));
  if (c == NULL) {
    pygc_decref(h, s);
    return NULL;
  }
  c->name = s;
  c->flags = flags;
  return &c->h;
}

/* the class accessors answer NULL / 0 (and ignore a set) for objects
 * that are not classes */
const char *pygc_class_name(const pygc_object *cls) {
  if (!is_type(cls, &pygc_class_type)) return NULL;
  const class_obj *c = (const class_obj *)cls;
  return c->name ? ((const str_obj *)c->name)->data : "?";
}
unsigned pygc_class_flags(const pygc_object *cls) {
  return is_type(cls, &pygc_class_type) ? ((const class_obj *)cls)->flags : 0;
}
void pygc_class_set_host(pygc_object *cls, intptr_t host) {
  if (is_type(cls, &pygc_class_type)) ((class_obj *)cls)->host = host;
}
intptr_t pygc_class_host(const pygc_object *cls) {
  return is_type(cls, &pygc_class_type) ? ((const class_obj *)cls)->host : 0;
}

/* ---- instance ------------------------------------------------------------ */

/* the attribute values; the class and the names are OWNED edges */
static int instance_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }

/* the attributes: attrs.c */
static void instance_clear(pygc_heap *h, pygc_object *o) { pygc__attrs_clear(h, o); }

static void instance_dealloc(pygc_heap *h, pygc_object *o) {
  instance_obj *in = (instance_obj *)o;
  pygc__attrs_clear(h, o);
  pygc_object *cls = in->cls;
  in->cls = NULL;
  if (cls) pygc_decref(h, cls);
}

static void instance_free(pygc_heap *h, pygc_object *o) { pygc__attrs_free(h, o); }

static size_t instance_size(const pygc_object *o) { return sizeof(instance_obj) + pygc__attrs_bytes(o); }

static void instance_finalize(pygc_heap *h, pygc_object *o) {
  if (h->hooks.finalize) h->hooks.finalize(h->hooks.ud, h, o);
}

/* in->cls is a class or NULL (pygc_instance_new checked it): read its
 * flags directly, this runs at every instance's deallocation */
static int instance_has_finalizer(const pygc_object *o) {
  const instance_obj *in = (const instance_obj *)o;
  return in->cls && (((const class_obj *)in->cls)->flags & PYGC_CLASS_FINALIZER);
}

static int instance_is_legacy(const pygc_object *o) {
  const instance_obj *in = (const instance_obj *)o;
  return in->cls && (((const class_obj *)in->cls)->flags & PYGC_CLASS_LEGACY);
}

const pygc_type pygc_instance_type = {
    .name = "instance",
    .flags = PYGC_TYPE_GC,
    .traverse = instance_traverse,
    .clear = instance_clear,
    .dealloc = instance_dealloc,
    .finalize = instance_finalize,
    .free = instance_free,
    .size = instance_size,
    .has_finalizer = instance_has_finalizer,
    .is_legacy = instance_is_legacy,
};

int pygc__instance_verify(const pygc_object *o, char *msg, size_t n) {
  const instance_obj *in = (const instance_obj *)o;
  if (in->cls == NULL || in->cls->type != &pygc_class_type) {
    snprintf(msg, n, "instance at %p has no class", (const void *)o);
    return 1;
  }
  return pygc__attrs_verify(o, msg, n);
}

pygc_object *pygc_instance_new(pygc_heap *h, pygc_object *cls) {
  if (!is_type(cls, &pygc_class_type)) return NULL;
  instance_obj *in = (instance_obj *)pygc__heap_new_object(h, &pygc_instance_type, sizeof(instance_obj));
  if (in == NULL) return NULL;
  pygc_incref(cls);
  in->cls = cls;
  pygc__heap_track(h, &in->h);
  pygc__gc_maybe_collect(h);
  return &in->h;
}

pygc_object *pygc_instance_class(const pygc_object *o) {
  return is_type(o, &pygc_instance_type) ? ((const instance_obj *)o)->cls : NULL;
}
/* attributes: attrs.c */
