/*
 * instance.c -- classes and their instances.
 *
 * A class is a tracked object, as CPython's heap types: a name, flags
 * (finalizer, legacy), one word for the host, an attribute table (class
 * attributes and methods; the host stores what it likes there, Lua
 * functions included), and the attribute names its instances share
 * (attrs.c).  Its attributes can refer back to it (A.a = A) or to its
 * instances (A.inst = A()), so it takes part in cycles and is cleared like
 * any container; the shared names stay until it is freed.  An instance
 * holds its class (a cycle edge) and its attributes (attrs.c).
 */
#include "pygc_int.h"

/* ---- class -------------------------------------------------------------- */

/* tp_clear: the attributes go, the name stays (repr and errors of a class
 * cleared but still referenced keep naming it) */
static void class_clear(pygc_heap *h, pygc_object *o) { pygc__tab_clear(h, &((class_obj *)o)->attrs); }

static void class_dealloc(pygc_heap *h, pygc_object *o) {
  class_obj *c = (class_obj *)o;
  pygc__tab_clear(h, &c->attrs);
  pygc_object *name = c->name;
  c->name = NULL;
  if (name) pygc_decref(h, name);
  pygc__class_keys_release(h, c); /* the names its instances shared (attrs.c) */
}

static void class_free(pygc_heap *h, pygc_object *o) {
  pygc__tab_free(h, &((class_obj *)o)->attrs);
  pygc__class_keys_free(h, (class_obj *)o);
}

/* the attribute values; the name and the attribute names are OWNED edges */
static int class_traverse(pygc_object *o, pygc_visit_fn visit, void *arg) { return obj_traverse(o, visit, arg); }

static size_t class_size(const pygc_object *o) {
  const class_obj *c = (const class_obj *)o;
  return sizeof(class_obj) + pygc__tab_bytes(&c->attrs) + pygc__class_keys_bytes(c);
}

const pygc_type pygc_class_type = {
    .name = "type",
    .flags = PYGC_TYPE_GC,
    .traverse = class_traverse,
    .clear = class_clear,
    .dealloc = class_dealloc,
    .free = class_free,
    .size = class_size,
};

int pygc__class_verify(const pygc_object *o, char *msg, size_t n) {
  const class_obj *c = (const class_obj *)o;
  if (c->name == NULL || c->name->type != &pygc_str_type) {
    snprintf(msg, n, "class at %p has no name", (const void *)o);
    return 1;
  }
  if (c->ninstances > c->h.refcnt) { /* each instance holds its class */
    snprintf(msg, n, "class %s counts %zu instances but has %u references", ((const str_obj *)c->name)->data,
             c->ninstances, (unsigned)c->h.refcnt);
    return 1;
  }
  return pygc__tab_verify(&c->attrs, msg, n);
}

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
  pygc__heap_track(h, &c->h);
  pygc__gc_maybe_collect(h);
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
/* Hosts that let a finalizer be set or removed after creation keep the
 * flag in step (the binding does, on Cls.__del = f).  Instances read it
 * when they die or are found in garbage: a change applies from then on. */
void pygc_class_set_flags(pygc_object *cls, unsigned flags) {
  if (is_type(cls, &pygc_class_type)) ((class_obj *)cls)->flags = flags;
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
  if (cls) {
    ((class_obj *)cls)->ninstances--;
    pygc_decref(h, cls);
  }
}

static void instance_free(pygc_heap *h, pygc_object *o) { pygc__attrs_free(h, o); }

static size_t instance_size(const pygc_object *o) { return sizeof(instance_obj) + pygc__attrs_bytes(o); }

size_t pygc__instance_release(pygc_heap *h, pygc_object *o) {
  instance_dealloc(h, o);
  pygc__attrs_free(h, o);
  return instance_size(o);
}

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
  instance_obj *in = (instance_obj *)pygc__heap_new_tracked(h, &pygc_instance_type, sizeof(instance_obj));
  if (in == NULL) return NULL;
  /* every field past the header (new_tracked sets only that) */
  memset((char *)in + sizeof(pygc_object), 0, sizeof(instance_obj) - sizeof(pygc_object));
  obj_incref(cls);
  ((class_obj *)cls)->ninstances++;
  in->cls = cls;
  gc_maybe_collect(h);
  return &in->h;
}

pygc_object *pygc_instance_class(const pygc_object *o) {
  return is_type(o, &pygc_instance_type) ? ((const instance_obj *)o)->cls : NULL;
}
/* attributes: attrs.c */
