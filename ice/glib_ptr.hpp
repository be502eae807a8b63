// Private to ice/: owning pointers for GLib and libnice objects, each with the function that
// releases it, so no path (early return, exception) leaks or double-frees one.
#pragma once

#include <glib-object.h>
#include <glib.h>
#include <nice/agent.h>

#include <memory>

namespace natdiag::ice::glib {

struct ObjectUnref {
  void operator()(gpointer object) const noexcept { g_object_unref(object); }
};
struct MainContextUnref {
  void operator()(GMainContext* context) const noexcept { g_main_context_unref(context); }
};
struct MainLoopUnref {
  void operator()(GMainLoop* loop) const noexcept { g_main_loop_unref(loop); }
};
/// A source attached to a context: destroyed (detached) and then unreferenced.
struct SourceDestroy {
  void operator()(GSource* source) const noexcept {
    g_source_destroy(source);
    g_source_unref(source);
  }
};
struct CandidateFree {
  void operator()(NiceCandidate* candidate) const noexcept { nice_candidate_free(candidate); }
};
/// A GSList of NiceCandidate* that owns its candidates too.
struct CandidateListFree {
  void operator()(GSList* list) const noexcept {
    g_slist_free_full(list, reinterpret_cast<GDestroyNotify>(nice_candidate_free));
  }
};
/// A GSList of strings (g_free'd) that owns its strings too.
struct StringListFree {
  void operator()(GList* list) const noexcept { g_list_free_full(list, g_free); }
};
struct Free {
  void operator()(gpointer memory) const noexcept { g_free(memory); }
};

using AgentPtr = std::unique_ptr<NiceAgent, ObjectUnref>;
using MainContextPtr = std::unique_ptr<GMainContext, MainContextUnref>;
using MainLoopPtr = std::unique_ptr<GMainLoop, MainLoopUnref>;
using SourcePtr = std::unique_ptr<GSource, SourceDestroy>;
using CandidatePtr = std::unique_ptr<NiceCandidate, CandidateFree>;
using CandidateListPtr = std::unique_ptr<GSList, CandidateListFree>;
using StringListPtr = std::unique_ptr<GList, StringListFree>;
using CharPtr = std::unique_ptr<gchar, Free>;

}  // namespace natdiag::ice::glib
