// The current time, ticking: countdowns on a page stay right while it is open.
import { onBeforeUnmount, ref } from 'vue'

export function useNow(everyMs = 15000) {
  const now = ref(Date.now())
  const timer = setInterval(() => (now.value = Date.now()), everyMs)
  onBeforeUnmount(() => clearInterval(timer))
  return now
}
