// The H5 app: Vue 3 and Vant 4 components (registered once here), the router, the shell.
import 'vant/lib/index.css'
import './shell/theme.css'

import {
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, DatePicker, Empty, Field, Grid, GridItem, Icon, List, Loading,
  NavBar, NoticeBar, Picker, Popup, PullRefresh, Step, Steps, Switch, Tab, Tabbar, TabbarItem, Tabs, Tag,
} from 'vant'
import { createApp } from 'vue'

import App from './App.vue'
import { router } from './shell/router'

const app = createApp(App)
for (const component of [
  Button, Cell, CellGroup, Checkbox, CheckboxGroup, DatePicker, Empty, Field, Grid, GridItem, Icon, List, Loading,
  NavBar, NoticeBar, Picker, Popup, PullRefresh, Step, Steps, Switch, Tab, Tabbar, TabbarItem, Tabs, Tag,
]) {
  app.use(component)
}
app.use(router)
app.mount('#app')
